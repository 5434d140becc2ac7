"""Citizen pages for votes (票选), under /c/votes/ (included by the portal's URLs): the
campaign page a WeChat share opens, the ballot, the receipt, results and the chosen actions'
progress."""

app_name = "votes_public"

urlpatterns: list = []

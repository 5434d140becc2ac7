"""Citizen pages for votes (票选), under /c/votes/: the campaign page a WeChat share opens, the
ballot, the receipt, results, and the chosen actions' progress with follow-by-SMS."""

from minyi.votes.public_urls_actions import urlpatterns as actions
from minyi.votes.public_urls_ballots import urlpatterns as ballots

app_name = "votes_public"

urlpatterns = [*actions, *ballots]

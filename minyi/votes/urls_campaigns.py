"""Staff URLs of votes: campaigns (included by minyi/votes/urls.py, namespace "votes")."""

urlpatterns: list = []

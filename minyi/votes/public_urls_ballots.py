"""Citizen URLs of votes: ballots (included by minyi/votes/public_urls.py, namespace
"votes_public")."""

urlpatterns: list = []

"""Citizen URLs of votes: actions (included by minyi/votes/public_urls.py, namespace
"votes_public")."""

urlpatterns: list = []

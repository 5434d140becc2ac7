"""Staff URLs of votes: audit (included by minyi/votes/urls.py, namespace "votes")."""

urlpatterns: list = []

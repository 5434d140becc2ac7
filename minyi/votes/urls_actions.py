"""Staff URLs of votes: actions (included by minyi/votes/urls.py, namespace "votes")."""

urlpatterns: list = []

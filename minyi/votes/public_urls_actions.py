"""Citizen URLs of votes: actions (included by minyi/votes/public_urls.py, namespace
"votes_public")."""

from django.urls import path

from minyi.votes import action_public_views as views

urlpatterns: list = [
    path("actions/", views.actions, name="actions"),
    path("actions/<int:pk>/", views.action, name="action"),
    path("actions/<int:pk>/follow/", views.action_follow, name="action_follow"),
    path("actions/<int:pk>/photos/<int:photo_pk>/", views.action_photo, name="action_photo"),
]

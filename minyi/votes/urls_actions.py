"""Staff URLs of votes: actions (included by minyi/votes/urls.py, namespace "votes")."""

from django.urls import path

from minyi.votes import action_views as views

urlpatterns: list = [
    path("actions/", views.action_list, name="action_list"),
    path("actions/new/<int:option_pk>/", views.action_new, name="action_new"),
    path("actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("actions/<int:pk>/milestones/", views.action_milestone_add, name="action_milestone_add"),
    path(
        "actions/<int:pk>/milestones/<int:milestone_pk>/done/",
        views.action_milestone_done,
        name="action_milestone_done",
    ),
    path("actions/<int:pk>/updates/", views.action_update_publish, name="action_update_publish"),
]

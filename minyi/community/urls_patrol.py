"""Patrol visibility (巡逻见警率) pages, under /community/patrol/."""

from django.urls import path

from minyi.community import patrol_views as views

urlpatterns = [
    path("", views.patrol, name="patrol"),
    path("flagged/", views.patrol_flagged, name="patrol_flagged"),
    path("rules/", views.patrol_rules, name="patrol_rules"),
    path("import/", views.patrol_import, name="patrol_import"),
    path("recompute/", views.patrol_recompute, name="patrol_recompute"),
]

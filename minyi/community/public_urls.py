"""Citizen pages of community safety, under /c/community/: a community's colour, trend and
officers (aggregates only)."""

from django.urls import path

from minyi.community import public_views as views

app_name = "community_public"

urlpatterns = [
    path("", views.community_index, name="community_index"),
    path("<str:code>/", views.community, name="community"),
    path("<str:code>/subscribe/", views.subscribe_page, name="subscribe"),
]

"""Citizen pages of meetings, under /c/meetings/: what is coming and the published minutes."""

from django.urls import path

from minyi.meetings import public_views as views

app_name = "meetings_public"

urlpatterns = [
    path("", views.meeting_index, name="index"),
    path("<int:pk>/", views.meeting_page, name="meeting"),
]

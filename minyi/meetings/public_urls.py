"""Citizen pages of meetings, under /c/meetings/."""

from django.urls import path  # noqa: F401

app_name = "meetings_public"

urlpatterns = []

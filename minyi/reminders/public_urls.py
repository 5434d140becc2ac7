"""Citizen pages of reminders, under /c/reminders/."""

from django.urls import path  # noqa: F401

app_name = "reminders_public"

urlpatterns = []

"""Citizen pages of volunteers, under /c/volunteers/."""

from django.urls import path  # noqa: F401

app_name = "volunteers_public"

urlpatterns = []

"""Citizen pages of appointments, under /c/appointments/."""

from django.urls import path  # noqa: F401

app_name = "appointments_public"

urlpatterns = []

"""Staff pages of volunteers."""

from django.urls import path  # noqa: F401

app_name = "volunteers"

urlpatterns = []

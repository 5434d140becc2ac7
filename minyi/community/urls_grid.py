"""Filled in by issue 16 (see urls.py)."""

urlpatterns = []

"""Staff pages of the officer directory, under /directory/."""

from django.urls import path

from minyi.portal import staff_views

app_name = "directory"

urlpatterns = [
    path("cards/", staff_views.cards, name="cards"),
    path("scans/", staff_views.scans, name="scans"),
]

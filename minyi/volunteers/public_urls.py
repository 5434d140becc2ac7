"""Citizen pages of volunteers, under /c/volunteers/."""

from django.urls import path

from minyi.volunteers import public_views as views

app_name = "volunteers_public"

urlpatterns = [
    path("", views.station_index, name="index"),
    path("activity/<int:pk>/", views.activity_signup, name="activity_signup"),
    path("<str:code>/", views.station, name="station"),
    path("<str:code>/join/", views.join, name="join"),
    path("<str:code>/recognition/", views.recognition, name="recognition"),
]

"""Citizen pages of service reminders, under /c/reminders/: the opt-out page the reminder SMS
links to."""

from django.urls import path

from minyi.reminders import public_views

app_name = "reminders_public"

urlpatterns = [
    path("stop/", public_views.opt_out, name="opt_out"),
]

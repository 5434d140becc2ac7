from django.urls import path

from minyi.perception import views

app_name = "perception"

urlpatterns = [
    path("events/import/", views.event_import, name="event_import"),
]

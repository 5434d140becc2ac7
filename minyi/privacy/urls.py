from django.urls import path

from minyi.privacy import views

app_name = "privacy"

urlpatterns = [
    path("citizen-export/", views.citizen_export, name="citizen_export"),
]

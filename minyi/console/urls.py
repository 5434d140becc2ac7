from django.urls import path

from minyi.console import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("units/", views.unit_tree, name="unit_tree"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("officers/", views.officer_list, name="officer_list"),
    path("officers/<int:pk>/", views.officer_detail, name="officer_detail"),
    path("officers/<int:pk>/reveal/<str:field>/", views.officer_reveal, name="officer_reveal"),
    path("audit/", views.audit_list, name="audit_list"),
]

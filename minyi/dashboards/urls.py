from django.urls import path

from minyi.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("drill/", views.drill, name="drill"),
    path("export/", views.export, name="export"),
]

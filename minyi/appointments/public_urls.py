"""Citizen pages of mobile service appointments (移动办证), under /c/appointments/."""

from django.urls import path

from minyi.appointments import public_views as views

app_name = "appointments_public"

urlpatterns = [
    path("", views.index, name="index"),
    path("station/<str:code>/", views.book, name="book"),
    path("done/<str:number>/", views.done, name="done"),
    path("lookup/", views.lookup, name="lookup"),
    path("mine/<str:number>/", views.mine, name="mine"),
]

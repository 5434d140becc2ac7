"""The officer directory's addresses (警官名录). Citizen pages live under /c/ beside the portal's,
and their paths never change: the QR codes printed on cards and cups carry /c/q/<code> and
/c/qu/<unit code>. Staff pages (print sheets, scan counts) live under /directory/."""

from django.urls import include, path

from minyi.directory import staff_views, views

app_name = "directory"

citizen_urlpatterns = [
    path("officers/", views.search, name="search"),
    path("officers/<str:code>/", views.officer_card, name="officer_card"),
    path("officers/<str:code>/photo", views.officer_photo, name="officer_photo"),
    path("units/<str:code>/", views.unit_card, name="unit_card"),
    path("q/<str:code>", views.officer_scan, name="officer_scan"),
    path("qu/<str:code>", views.unit_scan, name="unit_scan"),
]

staff_urlpatterns = [
    path("cards/", staff_views.cards, name="cards"),
    path("scans/", staff_views.scans, name="scans"),
]

urlpatterns = [
    path("c/", include(citizen_urlpatterns)),
    path("directory/", include(staff_urlpatterns)),
]

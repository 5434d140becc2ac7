"""Citizen pages (群众门户), under /c/. Phone first, no login: a mobile is proven with a
one-time SMS code where a page needs one."""

from django.urls import path

from minyi.cases import public_views as cases
from minyi.opinions import public_views as opinions
from minyi.portal import directory_views as directory
from minyi.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    # Opinions (警务e广场)
    path("opinions/new/", opinions.opinion_new, name="opinion_new"),
    path("opinions/track/", opinions.opinion_track, name="opinion_track"),
    path("opinions/<str:number>/", opinions.opinion_status, name="opinion_status"),
    path("wall/", opinions.opinion_wall, name="opinion_wall"),
    # Case progress (阳光警务)
    path("cases/", cases.case_lookup, name="case_lookup"),
    path("cases/progress/", cases.case_progress, name="case_progress"),
    path("cases/complain/", cases.case_complain, name="case_complain"),
    # Officer directory
    path("officers/", directory.directory, name="directory"),
    path("officers/<str:code>/", directory.officer_card, name="officer_card"),
    path("officers/<str:code>/photo", directory.officer_photo, name="officer_photo"),
    path("units/<str:code>/", directory.unit_card, name="unit_card"),
    path("q/<str:code>", directory.officer_scan, name="officer_scan"),
    path("qu/<str:code>", directory.unit_scan, name="unit_scan"),
]

"""Citizen pages (群众门户), under /c/. Phone first, no login: a mobile is proven with a
one-time SMS code where a page needs one. The officer directory's citizen pages share the
/c/ prefix but are its own (minyi/directory/urls.py)."""

from django.urls import path

from minyi.cases import public_views as cases
from minyi.opinions import public_views as opinions
from minyi.portal import poll_views, views

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
    # Public results (民意评警公开)
    path("results/<str:code>/", poll_views.poll_unit, name="poll_unit"),
    path("ranking/", poll_views.ranking, name="ranking"),
    path("ranking/<int:pk>/", poll_views.ranking, name="ranking_detail"),
]

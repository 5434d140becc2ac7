"""Staff case pages (阳光警务), under /cases/."""

from django.urls import path

from minyi.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("import/", views.case_import, name="case_import"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
]

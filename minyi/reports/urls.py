from django.urls import path

from minyi.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("<int:pk>/report.pdf", views.download, {"fmt": "pdf"}, name="report_pdf"),
    path("<int:pk>/report.xlsx", views.download, {"fmt": "xlsx"}, name="report_xlsx"),
    path("<int:unit_id>/generate/", views.generate, name="generate"),
]

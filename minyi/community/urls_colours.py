"""The three colours (三色管理) and incidents (警情), under /community/colours/."""

from django.urls import path

from minyi.community import colour_views

urlpatterns = [
    path("", colour_views.colour_report, name="colour_report"),
    path("report.pdf", colour_views.colour_report_pdf_view, name="colour_report_pdf"),
    path("report.xlsx", colour_views.colour_report_xlsx_view, name="colour_report_xlsx"),
    path("recompute/", colour_views.colour_recompute, name="colour_recompute"),
    path("incidents/import/", colour_views.incident_import, name="incident_import"),
    path("incidents/<int:pk>/", colour_views.incident_list, name="incident_list"),
]

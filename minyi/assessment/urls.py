from django.urls import path

from minyi.assessment import views
from minyi.assessment.promotion import promotion_urls

app_name = "assessment"

urlpatterns = [
    path("", views.assessment_list, name="assessment_list"),
    path("run/", views.assessment_run, name="assessment_run"),
    path("<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path("<int:pk>/approve/", views.assessment_approve_view, name="assessment_approve"),
    path("<int:pk>/publish/", views.assessment_publish_view, name="assessment_publish"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/activate/", views.rule_activate_view, name="rule_activate"),
    path("peer-groups/", views.peer_group_list, name="peer_group_list"),
    path("peer-groups/new/", views.peer_group_create, name="peer_group_create"),
    path("peer-groups/<int:pk>/", views.peer_group_edit, name="peer_group_edit"),
    path("figures/", views.figure_list, name="figure_list"),
    path("figures/import/", views.figure_import, name="figure_import"),
    path("figures/import/<int:pk>/", views.figure_import_detail, name="figure_import_detail"),
    path(
        "figures/import/<int:pk>/confirm/",
        views.figure_import_confirm,
        name="figure_import_confirm",
    ),
    path(
        "figures/import/<int:pk>/progress/",
        views.figure_import_progress,
        name="figure_import_progress",
    ),
    path("figures/compute/", views.figure_compute, name="figure_compute"),
    path("promotion/", promotion_urls),
]

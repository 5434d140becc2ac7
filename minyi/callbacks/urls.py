from django.urls import path

from minyi.callbacks import evaluator_views, views

app_name = "callbacks"

urlpatterns = [
    path("", views.callback_list, name="callback_list"),
    path("next/", views.callback_take_next, name="callback_take_next"),
    path("<int:pk>/", views.callback_detail, name="callback_detail"),
    path("<int:pk>/claim/", views.callback_claim_view, name="callback_claim"),
    path("<int:pk>/release/", views.callback_release_view, name="callback_release"),
    path("<int:pk>/reveal/", views.callback_reveal, name="callback_reveal"),
    path("<int:pk>/record/", views.callback_record_view, name="callback_record"),
    path("evaluators/", evaluator_views.evaluator_figures, name="evaluator_figures"),
    path(
        "evaluators/export/",
        evaluator_views.evaluator_figures_export,
        name="evaluator_figures_export",
    ),
]

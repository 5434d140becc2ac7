from django.urls import path

from minyi.workorders import views

app_name = "workorders"

urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/accept/", views.order_accept, name="order_accept"),
    path("<int:pk>/feedback/", views.order_feedback, name="order_feedback"),
    path("<int:pk>/close/", views.order_close, name="order_close"),
    path("<int:pk>/return/", views.order_return, name="order_return"),
    path("<int:pk>/appeal/", views.appeal_file_view, name="appeal_file"),
    path("<int:pk>/appeal/decide/", views.appeal_decide_view, name="appeal_decide"),
    path(
        "<int:pk>/evidence/<int:evidence_pk>/",
        views.evidence_download,
        name="evidence_download",
    ),
    path("appeals/", views.appeal_list, name="appeal_list"),
    path("ratings/", views.rating_list, name="rating_list"),
    path("ratings/<int:pk>/", views.rating_detail, name="rating_detail"),
    path("ratings/<int:pk>/appeal/", views.rating_appeal_file_view, name="rating_appeal_file"),
    path(
        "ratings/<int:pk>/appeal/decide/",
        views.rating_appeal_decide_view,
        name="rating_appeal_decide",
    ),
]

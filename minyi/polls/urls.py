from django.urls import path

from minyi.polls import collection_views, views

app_name = "polls"

urlpatterns = [
    # Staff: polls, imports, weighting and estimates.
    path("", views.poll_list, name="poll_list"),
    path("new/", views.poll_new, name="poll_new"),
    path("<int:pk>/", views.poll_detail, name="poll_detail"),
    path("<int:pk>/upload/", views.poll_upload, name="poll_upload"),
    path("<int:pk>/recompute/", views.poll_recompute, name="poll_recompute"),
    path("margins/", views.margin_list, name="margin_list"),
    path("margins/upload/", views.margin_upload, name="margin_upload"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    # Collection in Minyi (平台短信测评).
    path("<int:pk>/collection/", collection_views.collection_detail, name="collection_detail"),
    path("<int:pk>/collection/draw", collection_views.collection_sample, name="collection_sample"),
    path("<int:pk>/collection/close", collection_views.collection_close, name="collection_close"),
]

from django.urls import path

from minyi.perception import views

app_name = "perception"

urlpatterns = [
    path("callbacks/", views.callback_list, name="callback_list"),
    path("callbacks/next/", views.callback_take_next, name="callback_take_next"),
    path("callbacks/<int:pk>/", views.callback_detail, name="callback_detail"),
    path("callbacks/<int:pk>/claim/", views.callback_claim_view, name="callback_claim"),
    path("callbacks/<int:pk>/release/", views.callback_release_view, name="callback_release"),
    path("callbacks/<int:pk>/reveal/", views.callback_reveal, name="callback_reveal"),
    path("callbacks/<int:pk>/record/", views.callback_record_view, name="callback_record"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_detail, name="inbox_detail"),
    path("inbox/<int:pk>/handle/", views.inbox_handle, name="inbox_handle"),
    path("inbox/<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("events/import/", views.event_import, name="event_import"),
]

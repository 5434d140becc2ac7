from django.urls import path

from minyi.perception import views

app_name = "perception"

urlpatterns = [
    path("callbacks/", views.callback_list, name="callback_list"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("events/import/", views.event_import, name="event_import"),
]

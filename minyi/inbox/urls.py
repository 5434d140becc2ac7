from django.urls import path

from minyi.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.inbox_detail, name="inbox_detail"),
    path("<int:pk>/handle/", views.inbox_handle, name="inbox_handle"),
    path("<int:pk>/read/", views.inbox_mark_read, name="inbox_mark_read"),
]

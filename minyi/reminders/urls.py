"""Staff pages of service reminders (办事提醒), under /reminders/."""

from django.urls import path

from minyi.reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.item_list, name="item_list"),
    path("sends/", views.send_list, name="send_list"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/<str:kind>/", views.template_edit, name="template_edit"),
    path("imports/", views.item_import, name="item_import"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
]

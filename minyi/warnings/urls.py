from django.urls import path

from minyi.warnings import views

app_name = "warnings"

urlpatterns = [
    path("", views.warning_list, name="warning_list"),
    path("<int:pk>/", views.warning_detail, name="warning_detail"),
    path("<int:pk>/reply/", views.warning_reply_view, name="warning_reply"),
    path("<int:pk>/case/", views.warning_case_open_view, name="warning_case_open"),
]

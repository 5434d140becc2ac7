from django.urls import path

from minyi.accountability import views

app_name = "accountability"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/reply/", views.case_reply_view, name="case_reply"),
    path("<int:pk>/decide/", views.case_decide_view, name="case_decide"),
]

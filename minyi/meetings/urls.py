"""Staff pages of meetings and live programmes (恳谈会、广场警务活动日、110直播室)."""

from django.urls import path

from minyi.meetings import views

app_name = "meetings"

urlpatterns = [
    path("", views.meeting_list, name="meeting_list"),
    path("new/", views.meeting_new, name="meeting_new"),
    path("radio/", views.radio_plan, name="radio_plan"),
    path("<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("<int:pk>/questions/new/", views.question_new, name="question_new"),
    path(
        "<int:pk>/questions/<int:question_pk>/public-answer/",
        views.public_answer,
        name="public_answer",
    ),
    path("<int:pk>/attendance/", views.attendance, name="attendance"),
    path("<int:pk>/minutes/", views.minutes, name="minutes"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
]

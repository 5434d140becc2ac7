"""Staff pages of volunteers (群防群治), under /volunteers/."""

from django.urls import path

from minyi.volunteers import views

app_name = "volunteers"

urlpatterns = [
    path("", views.volunteer_list, name="volunteer_list"),
    path("new/", views.volunteer_new, name="volunteer_new"),
    path("export/", views.volunteer_export, name="volunteer_export"),
    path("<int:pk>/", views.volunteer_edit, name="volunteer_edit"),
    path("<int:pk>/reveal/", views.volunteer_reveal, name="volunteer_reveal"),
    path("<int:pk>/withdraw/", views.volunteer_withdraw_view, name="volunteer_withdraw"),
    path("<int:pk>/erase/", views.volunteer_erase_view, name="volunteer_erase"),
    path("partners/", views.organisation_list, name="organisation_list"),
    path("partners/new/", views.organisation_new, name="organisation_new"),
    path("partners/<int:pk>/", views.organisation_edit, name="organisation_edit"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_new, name="activity_new"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:pk>/signup/", views.activity_signup, name="activity_signup"),
    path("activities/<int:pk>/attendance/", views.activity_attendance, name="activity_attendance"),
    path("activities/<int:pk>/status/", views.activity_status, name="activity_status"),
    path("recognition/", views.recognition, name="recognition"),
]

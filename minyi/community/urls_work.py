"""Staff URLs of community officers' work (社区民警工作), under /community/work/ (namespace
"community"): responsibility lists, household visits and their coverage, safety notices."""

from django.urls import path

from minyi.community import work_views as views

urlpatterns = [
    path("duties/", views.duty_list, name="duty_list"),
    path("duties/new/<int:community_pk>/", views.duty_new, name="duty_new"),
    path("duties/<int:pk>/edit/", views.duty_edit, name="duty_edit"),
    path("duties/<int:pk>/delete/", views.duty_delete, name="duty_delete"),
    path("visits/", views.visit_list, name="visit_list"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/coverage/", views.visit_coverage_page, name="visit_coverage"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/delete/", views.visit_remove, name="visit_delete"),
    path("visits/<int:pk>/done/", views.visit_done, name="visit_done"),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/new/", views.notice_new, name="notice_new"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/send/", views.notice_send_view, name="notice_send"),
]

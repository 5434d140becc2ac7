"""Staff URLs of votes: campaigns (included by minyi/votes/urls.py, namespace "votes")."""

from django.urls import path

from minyi.votes import views

urlpatterns: list = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_new, name="campaign_new"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:pk>/options/", views.option_new, name="option_new"),
    path("<int:pk>/options/<int:option_pk>/delete/", views.option_delete, name="option_delete"),
    path("<int:pk>/photos/<int:photo_pk>/", views.option_photo, name="option_photo"),
    path("<int:pk>/open/", views.campaign_open_view, name="campaign_open"),
    path("<int:pk>/close/", views.campaign_close_view, name="campaign_close"),
    path("<int:pk>/publish/", views.campaign_publish_view, name="campaign_publish"),
    path("<int:pk>/export.xlsx", views.campaign_export_view, name="campaign_export"),
]

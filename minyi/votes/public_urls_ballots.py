"""Citizen URLs of votes: ballots (included by minyi/votes/public_urls.py, namespace
"votes_public")."""

from django.urls import path

from minyi.votes import public_views

urlpatterns: list = [
    path("", public_views.campaign_index, name="index"),
    path("<slug:code>/", public_views.campaign_page, name="campaign"),
    path("<slug:code>/ballot/", public_views.ballot, name="ballot"),
    path("<slug:code>/turnout/", public_views.turnout, name="turnout"),
    path("<slug:code>/photos/<int:pk>/", public_views.option_photo, name="option_photo"),
    path("<slug:code>/receipt/", public_views.receipt, name="receipt"),
    path("<slug:code>/results/", public_views.results, name="results"),
    path("<slug:code>/receipts/", public_views.receipts, name="receipts"),
    path("<slug:code>/receipts.csv", public_views.receipts_csv, name="receipts_csv"),
]

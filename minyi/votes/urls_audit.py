"""Staff URLs of votes: audit (included by minyi/votes/urls.py, namespace "votes")."""

from django.urls import path

from minyi.votes import audit_views

urlpatterns: list = [
    path("<int:pk>/paper/", audit_views.paper_key, name="paper_key"),
    path("<int:pk>/paper/queue/", audit_views.paper_queue, name="paper_queue"),
    path(
        "<int:pk>/paper/<int:sheet_pk>/resolve/",
        audit_views.paper_resolve,
        name="paper_resolve",
    ),
    path("<int:pk>/rejections/", audit_views.rejection_list, name="rejection_list"),
    path("<int:pk>/flags/", audit_views.flag_list, name="flag_list"),
    path("<int:pk>/flags/<int:flag_pk>/", audit_views.flag_detail, name="flag_detail"),
    path(
        "<int:pk>/flags/<int:flag_pk>/decide/",
        audit_views.flag_decide_view,
        name="flag_decide",
    ),
    path("<int:pk>/chain/", audit_views.chain_verify_view, name="chain_verify"),
]

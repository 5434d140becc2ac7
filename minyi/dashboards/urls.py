from django.urls import path

from minyi.dashboards import repeat_views, views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("drill/", views.drill, name="drill"),
    path("export/", views.export, name="export"),
    path("repeats/rules/", repeat_views.repeat_rules, name="repeat_rules"),
    path("repeats/referrals/", repeat_views.repeat_referrals, name="repeat_referrals"),
]

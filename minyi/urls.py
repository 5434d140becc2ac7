from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path

from minyi.api import api
from minyi.orgs import views as org_views
from minyi.orgs.admin import admin_site
from minyi.perception import views as perception_views
from minyi.polls import collection_views

urlpatterns = [
    path("accounts/login/", org_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/second-factor/", org_views.second_factor, name="second_factor"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("minyi.ops.urls")),  # /healthz, /readyz, /metrics
    path("admin/", admin_site.urls),
    path("api/", api.urls),
    path("s/<str:token>", perception_views.survey_h5, name="survey_h5"),
    path("q/<str:token>", collection_views.questionnaire, name="questionnaire"),
    path("sms/", include("minyi.integrations.sms.urls")),
    path("perception/callbacks/", include("minyi.callbacks.urls")),
    path("perception/inbox/", include("minyi.inbox.urls")),
    path("perception/", include("minyi.perception.urls")),
    path("workorders/", include("minyi.workorders.urls")),
    path("notifications/", include("minyi.notifications.urls")),
    path("insight/", include("minyi.insight.urls")),
    path("dashboards/", include("minyi.dashboards.urls")),
    path("reports/", include("minyi.reports.urls")),
    path("warnings/", include("minyi.warnings.urls")),
    path("c/votes/", include("minyi.votes.public_urls")),
    path("c/community/", include("minyi.community.public_urls")),
    path("c/meetings/", include("minyi.meetings.public_urls")),
    path("c/reminders/", include("minyi.reminders.public_urls")),
    path("c/appointments/", include("minyi.appointments.public_urls")),
    path("c/volunteers/", include("minyi.volunteers.public_urls")),
    path("c/", include("minyi.portal.urls")),
    path("opinions/", include("minyi.opinions.urls")),
    path("cases/", include("minyi.cases.urls")),
    path("polls/", include("minyi.polls.urls")),
    path("assessment/", include("minyi.assessment.urls")),
    path("accountability/", include("minyi.accountability.urls")),
    path("votes/", include("minyi.votes.urls")),
    path("community/", include("minyi.community.urls")),
    path("meetings/", include("minyi.meetings.urls")),
    path("reminders/", include("minyi.reminders.urls")),
    path("appointments/", include("minyi.appointments.urls")),
    path("volunteers/", include("minyi.volunteers.urls")),
    path("privacy/", include("minyi.privacy.urls")),
    # The officer directory: citizen pages under /c/, staff pages under /directory/.
    path("", include("minyi.directory.urls")),
    path("", include("minyi.console.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

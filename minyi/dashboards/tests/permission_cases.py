"""Permission-matrix cases for the dashboards (collected by
minyi/console/tests/test_permission_matrix.py). The index shows the user's own subtree, so a
sibling sees a page without station a2; drill-down and export name station a2 and are not
found for a sibling."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.dashboards.tests.factories import daily, days_ago, satisfied, survey
from minyi.orgs.roles import Perm
from minyi.perception.models import BusinessType

COMMENT = "甲二所的窗口排队太久"


def _a2_figures(world):
    hukou, _ = BusinessType.objects.get_or_create(
        code="dash_hukou", defaults={"name": "看板测试业务", "category": "window"}
    )
    daily(world.station_a2, hukou, days_ago(1), ratings=satisfied(40, 3))
    return world.station_a2.name


def _a2_survey(world):
    hukou, _ = BusinessType.objects.get_or_create(
        code="dash_hukou", defaults={"name": "看板测试业务", "category": "window"}
    )
    survey(world.station_a2, hukou, rating=4, comment=COMMENT)
    return COMMENT


def _drill(world, view="dashboards:drill", **extra):
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return f"{reverse(view)}?figure=satisfaction&unit={world.station_a2.pk}&{query}"


CASES = {
    "dashboards:index": Case(
        Perm.DASHBOARD_VIEW, lambda w: reverse("dashboards:index"), _a2_figures
    ),
    "dashboards:drill": Case(Perm.DASHBOARD_VIEW, lambda w: _drill(w), _a2_survey, detail=True),
    # An .xlsx body: the marker cannot be read as text, the sibling's 404 is what is checked
    # (test_views.py reads the workbook).
    "dashboards:export": Case(
        Perm.DATA_EXPORT,
        lambda w: _drill(w, "dashboards:export", table="drill"),
        None,
        detail=True,
    ),
}

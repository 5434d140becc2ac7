"""Permission-matrix cases for the dashboards (collected by
minyi/console/tests/test_permission_matrix.py). The index shows the user's own subtree, so a
sibling sees a page without station a2; drill-down and export name station a2 and are not
found for a sibling."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from minyi.console.tests.matrix import Case
from minyi.dashboards.models import RepeatAction, RepeatReferral
from minyi.dashboards.repeat_rules import repeat_referrals_sweep, repeat_rule_save
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.dashboards.tests.factories import at, daily, days_ago, satisfied, survey
from minyi.orgs.choices import Role
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


def _a2_repeat_rule(world):
    """A rule of station a2's own (REPEAT_RULE_MANAGE sets rules for its subtree)."""
    repeat_rule_save(
        actor=world.user("a2", Role.SUPERVISOR),
        unit=world.station_a2,
        business_type=None,
        min_trips=2,
        window_days=30,
        action=RepeatAction.CALLBACK,
    )
    return world.station_a2.name


def _a2_referral(world):
    """Two trips to station a2 referred by its rule: the masked mobile is on the list."""
    _a2_repeat_rule(world)
    hukou, _ = BusinessType.objects.get_or_create(
        code="dash_hukou", defaults={"name": "看板测试业务", "category": "window"}
    )
    for days in (9, 3):
        survey(world.station_a2, hukou, rating=2, occurred_at=at(days_ago(days)), mobile=MOBILE)
    repeat_contacts_fill(now=timezone.now() + timedelta(minutes=10))
    repeat_referrals_sweep(timezone.now())
    return RepeatReferral.objects.get().mobile_masked


MOBILE = "13900002468"


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
    "dashboards:repeat_rules": Case(
        Perm.REPEAT_RULE_MANAGE, lambda w: reverse("dashboards:repeat_rules"), _a2_repeat_rule
    ),
    "dashboards:repeat_referrals": Case(
        Perm.DASHBOARD_VIEW, lambda w: reverse("dashboards:repeat_referrals"), _a2_referral
    ),
}

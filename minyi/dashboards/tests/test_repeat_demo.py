"""The demo's 跑多次 rules (minyi/demo/repeats.py): idempotent, and referrals exist."""

import pytest

from minyi.dashboards.models import RepeatReferral, RepeatRule
from minyi.dashboards.tests.factories import at, days_ago, survey
from minyi.demo import repeats
from minyi.demo.city_plan import ROOT_CODE
from minyi.perception.models import BusinessType

pytestmark = pytest.mark.django_db


def test_demo_rules_refer_the_history_once(world):
    # Given the test city as the demo city, and a citizen with four registration trips
    world.city.code = ROOT_CODE
    world.city.save()
    hukou = BusinessType.objects.create(
        code=repeats.WORK_ORDER_TYPE, name="户籍业务", category="window"
    )
    for days in (25, 18, 9, 2):
        survey(world.station_a2, hukou, rating=2, occurred_at=at(days_ago(days)))

    first = repeats.load()
    again = repeats.load()

    assert first == {"rules": 2, "referrals": 2}  # a callback at trip 3, an order at trip 4
    assert again == {"rules": 0, "referrals": 0}
    assert RepeatRule.objects.count() == 2
    actions = set(RepeatReferral.objects.values_list("action", "trips"))
    assert actions == {("callback", 3), ("work_order", 4)}

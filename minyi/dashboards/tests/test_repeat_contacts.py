"""跑多次."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.core.periods import period_parse
from minyi.dashboards.figures.repeat_contacts import repeat_contacts_for
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.dashboards.tests.factories import (
    at,
    city_supervisor,
    days_ago,
    event,
)

pytestmark = pytest.mark.django_db


def test_repeat_contacts_by_unit_and_type(world, btypes):
    hukou, jcj = btypes["hukou"], btypes["jcj_110"]
    for i in range(6):  # six citizens came back to a1 for hukou
        mobile = f"1390000000{i}"
        event(world.station_a1, hukou, mobile=mobile, occurred_at=at(days_ago(20)))
        event(world.station_a1, hukou, mobile=mobile, occurred_at=at(days_ago(5)))
    for i in range(2):  # two came back to b1 for 110, one of them three times
        mobile = f"1370000000{i}"
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(25)))
        event(world.station_b1, jcj, mobile=mobile, occurred_at=at(days_ago(15)))
    event(world.station_b1, jcj, mobile="13700000000", occurred_at=at(days_ago(10)))
    repeat_contacts_fill(now=timezone.now() + timedelta(minutes=10))

    figure = repeat_contacts_for(city_supervisor(world), world.city, period=period_parse("30"))

    assert (figure["pairs"], figure["repeats"]) == (8, 9)
    units = {r["unit"]: r for r in figure["units"]}
    assert units[world.district_a]["pairs"] == 6
    assert (units[world.district_b]["pairs"], units[world.district_b]["repeats"]) == (2, 3)
    types = {r["business_type"].code: r for r in figure["types"]}
    assert types["hukou"]["pairs"] == 6
    assert types["jcj_110"]["suppressed"] and types["jcj_110"]["pairs"] is None

"""The rows behind a figure."""

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.drill import drill_rows
from minyi.dashboards.filters import DrillFilters
from minyi.dashboards.tests.factories import (
    at,
    days_ago,
    survey,
)
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def test_drill_rows_are_scoped_and_match_the_figure(world, btypes):
    hukou = btypes["hukou"]
    for rating in (1, 2, 4):
        survey(world.station_a1, hukou, rating=rating)
    survey(world.station_a2, hukou, rating=5)
    survey(world.station_a1, hukou, rating=4, excluded=True)
    survey(world.station_a1, hukou, rating=2, occurred_at=at(days_ago(40)))  # outside
    period = period_parse("30")

    district = world.user("a", Role.SUPERVISOR)
    rows = drill_rows(district, DrillFilters("satisfaction", world.district_a, period))
    assert rows.count() == 4
    unhappy = drill_rows(
        district, DrillFilters("satisfaction", world.district_a, period, status="unsatisfied")
    )
    assert sorted(s.rating for s in unhappy) == [4, 5]
    # A station user asking about their district still sees their own station only
    station = world.user("a1", Role.SUPERVISOR)
    rows = drill_rows(station, DrillFilters("satisfaction", world.district_a, period))
    assert {s.unit for s in rows} == {world.station_a1}

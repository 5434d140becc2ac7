"""Callback timeliness."""

from datetime import timedelta

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.figures.callbacks import callback_timeliness_for
from minyi.dashboards.tests.factories import (
    at,
    callback,
    city_supervisor,
    days_ago,
)

pytestmark = pytest.mark.django_db


def test_callback_on_time_rate_over_callbacks_due_in_the_period(world, btypes, rolled):
    hukou = btypes["hukou"]
    due = at(days_ago(3), 10)
    for hours in (-5, -1, 0):  # on time (completed at the due time counts)
        callback(world.station_a1, hukou, due_at=due, completed_at=due + timedelta(hours=hours))
    callback(world.station_a1, hukou, due_at=due, completed_at=due + timedelta(hours=2))  # late
    callback(world.station_a2, hukou, due_at=due)  # open, overdue now
    # "Now" is fixed two days ago so that a callback not yet due still falls in the period
    # whatever the hour the suite runs (a real now + 5 h crosses midnight after 19:00).
    now = at(days_ago(2), 10)
    callback(world.station_a2, hukou, due_at=at(days_ago(1), 10))  # not yet due at `now`
    old = at(days_ago(60))
    callback(world.station_b1, hukou, due_at=old)  # overdue now, due before the period
    rolled()

    figure = callback_timeliness_for(
        city_supervisor(world), world.city, period=period_parse("30"), now=now
    )

    total = figure["total"]
    assert (total["s"], total["n"]) == (3, 6)
    assert (total["late"], total["open"], total["overdue_now"]) == (1, 2, 2)
    rows = {r["unit"]: r for r in figure["rows"]}
    assert (rows[world.district_a]["s"], rows[world.district_a]["n"]) == (3, 6)
    assert rows[world.district_b]["n"] == 0 and rows[world.district_b]["overdue_now"] == 1

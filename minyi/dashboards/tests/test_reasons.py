"""Top reasons for dissatisfaction."""

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.figures.reasons import top_reasons_for
from minyi.dashboards.tests.factories import (
    at,
    callback,
    city_supervisor,
    days_ago,
)

pytestmark = pytest.mark.django_db


def test_top_reasons_with_share_trend_and_small_counts_suppressed(world, btypes, rolled):
    hukou = btypes["hukou"]
    due = at(days_ago(6), 10)
    for _i in range(6):
        callback(world.station_a1, hukou, due_at=due, completed_at=due, tags=["attitude"])
    for _i in range(2):
        callback(world.station_a1, hukou, due_at=due, completed_at=due,
                 tags=["attitude", "efficiency"])  # fmt: skip
    callback(world.station_a1, hukou, due_at=due, completed_at=due, kind="follow_up",
             tags=["efficiency"])  # fmt: skip  # 追评 callbacks carry no reasons of their own
    rolled()

    figure = top_reasons_for(city_supervisor(world), world.city, period=period_parse("30"))

    assert figure["base"] == 8
    rows = {r["tag"]: r for r in figure["rows"]}
    assert (rows["attitude"]["s"], rows["attitude"]["rate"]) == (8, 1.0)
    assert rows["efficiency"]["suppressed"] and rows["efficiency"]["s"] is None
    series = {s["tag"]: s["values"] for s in figure["series"]}
    assert sum(v or 0 for v in series["attitude"]) == 8
    assert set(series["efficiency"]) <= {0, None}

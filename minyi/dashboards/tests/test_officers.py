"""Satisfaction per officer."""

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.figures.officers import officer_satisfaction_for
from minyi.dashboards.tests.factories import (
    city_supervisor,
    survey,
)
from minyi.orgs.tests.factories import OfficerFactory

pytestmark = pytest.mark.django_db


def test_officers_are_named_only_with_5_answers_or_more(world, btypes, rolled):
    hukou = btypes["hukou"]
    busy = world.officers["a1"]
    quiet = OfficerFactory(unit=world.station_a1, name="少量民警")
    quieter = OfficerFactory(unit=world.station_a1, name="更少民警")
    for rating in (1, 2, 2, 3, 4, 5):
        survey(world.station_a1, hukou, rating=rating, officers=[busy])
    for rating in (1, 4):
        survey(world.station_a1, hukou, rating=rating, officers=[quiet])
    survey(world.station_a1, hukou, rating=2, officers=[quieter])
    survey(world.station_a1, hukou, rating=5, officers=[busy], excluded=True)  # appeal upheld
    rolled()

    figure = officer_satisfaction_for(
        city_supervisor(world), world.station_a1, period=period_parse("30")
    )

    assert [(r["officer"], r["s"], r["n"]) for r in figure["rows"]] == [(busy, 4, 6)]
    assert figure["merged"] == 2
    assert figure["other"]["suppressed"] and figure["other"]["n"] is None

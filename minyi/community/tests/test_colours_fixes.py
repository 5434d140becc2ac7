"""The reviewer's defects of issue 16's colours: the population read from one level a month
(never a group and its buildings added up), and the two-month persistence after a missing
month and when an earlier month is recomputed."""

from datetime import UTC, date, datetime

import pytest

from minyi.community.colours import colours_compute, community_populations, month_add
from minyi.community.models import AreaColour, AreaLevel
from minyi.community.tests.factories import make_area, make_population
from minyi.community.tests.test_colours_compute import _incidents, _populate, city  # noqa: F401

NOV = date(2026, 11, 1)
OCT = month_add(NOV, -1)
SEP = month_add(NOV, -2)
DEC = month_add(NOV, 1)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
EARLY = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


# --- Population: the highest level with data, per month ------------------------------------


@pytest.mark.django_db
def test_group_and_its_building_are_not_added_up(world, city):  # noqa: F811
    built = make_area(world.station_a2, name="按小组统计社区")
    group = make_area(world.station_a2, level=AreaLevel.GROUP, parent=built)
    building = make_area(world.station_a2, level=AreaLevel.BUILDING, parent=group)
    for i in range(12):
        make_population(group, month_add(NOV, -i), registered=800, floating=200)
        make_population(building, month_add(NOV, -i), registered=400, floating=0)
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=built, month=NOV).population == 1_000


@pytest.mark.django_db
def test_community_populations_takes_one_level_a_month(world):
    community = make_area(world.station_a1, name="分层人口社区")
    groups = [make_area(world.station_a1, level=AreaLevel.GROUP, parent=community) for _ in "ab"]
    building = make_area(world.station_a1, level=AreaLevel.BUILDING, parent=groups[0])
    other = make_area(world.station_a2, name="别的社区")
    # September: the community's own row wins over everything below it
    make_population(community, SEP, registered=5_000, floating=0)
    make_population(groups[0], SEP, registered=1_000, floating=0)
    make_population(building, SEP, registered=400, floating=0)
    # October: the groups' sum (the building inside the first group is not added)
    make_population(groups[0], OCT, registered=1_000, floating=0)
    make_population(groups[1], OCT, registered=2_000, floating=500)
    make_population(building, OCT, registered=400, floating=0)
    # November: only the building
    make_population(building, NOV, registered=400, floating=10)
    # December: out of the range asked
    make_population(community, DEC, registered=9_999, floating=0)
    make_population(other, OCT, registered=7_000, floating=0)
    result = community_populations([community.pk], SEP, NOV)
    assert result == {community.pk: {SEP: 5_000, OCT: 3_500, NOV: 410}}


@pytest.mark.django_db
def test_population_mean_is_over_the_months_with_data_only(world, city):  # noqa: F811
    area = make_area(world.station_a1, name="两月小组数据社区")
    group = make_area(world.station_a1, level=AreaLevel.GROUP, parent=area)
    building = make_area(world.station_a1, level=AreaLevel.BUILDING, parent=group)
    make_population(group, NOV, registered=3_000, floating=0)
    make_population(building, NOV, registered=500, floating=0)
    make_population(group, OCT, registered=1_000, floating=0)
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=area, month=NOV).population == 2_000


# --- Persistence: after a gap, and when an earlier month is recomputed ----------------------


@pytest.mark.django_db
def test_a_gap_is_no_confirmation(world, city):  # noqa: F811
    # Given a2 shown green in September (signal green) and no October row
    colours_compute(world.city, NOV, now=NOW)
    AreaColour.objects.filter(month=NOV).update(month=SEP, signal="green", colour="green")
    # When November says red, it stays green: September's row is not last month's
    colours_compute(world.city, NOV, now=NOW)
    row = AreaColour.objects.get(area=city["a2"], month=NOV)
    assert row.signal == "red" and row.colour == "green"
    # and December saying red again (two consecutive computed months) turns it red
    _incidents(city["a2"], 1, month=DEC, prefix="dec")
    colours_compute(world.city, DEC, now=NOW)
    assert AreaColour.objects.get(area=city["a2"], month=DEC).colour == "red"


@pytest.mark.django_db
def test_a_gap_keeps_the_earlier_colour_even_when_its_signal_agrees(world, city):  # noqa: F811
    colours_compute(world.city, NOV, now=NOW)
    AreaColour.objects.filter(month=NOV).update(month=SEP, signal="red", colour="green")
    colours_compute(world.city, NOV, now=NOW)
    assert AreaColour.objects.get(area=city["a2"], month=NOV).colour == "green"


@pytest.mark.django_db
def test_recomputing_a_month_recomputes_the_later_months(world, city):  # noqa: F811
    # A community whose incidents all fell in November 2025: in October's window (red), not
    # in November's (green)
    hot = make_area(world.station_a1, name="去年高发社区")
    _populate(hot)
    _incidents(hot, 150, month=date(2025, 11, 1), prefix="hot")
    colours_compute(world.city, OCT, now=EARLY)
    colours_compute(world.city, NOV, now=EARLY)
    assert AreaColour.objects.get(area=hot, month=OCT).colour == "red"  # its first month
    nov = AreaColour.objects.get(area=hot, month=NOV)
    assert (nov.signal, nov.colour) == ("green", "red")  # one green month: red stays
    # Given September's row arrives late, green
    AreaColour.objects.create(area=hot, month=SEP, signal="green", colour="green", computed_at=NOW)
    # When October is recomputed, it stays green (one red month)...
    written = colours_compute(world.city, OCT, now=NOW)
    assert AreaColour.objects.get(area=hot, month=OCT).colour == "green"
    # ...and November, standing on October, is recomputed after it: green kept
    nov = AreaColour.objects.get(area=hot, month=NOV)
    assert (nov.signal, nov.colour, nov.computed_at) == ("green", "green", NOW)
    assert written == AreaColour.objects.filter(month__in=[OCT, NOV]).count()

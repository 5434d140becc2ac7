"""Ranking among peers."""

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.figures.ranking import unit_ranking_for
from minyi.dashboards.tests.factories import (
    city_supervisor,
    daily,
    days_ago,
    satisfied,
)
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.tests.factories import unit

pytestmark = pytest.mark.django_db


def _stations(world, n):
    """n more police stations in district a, plus a traffic brigade."""
    extra = [
        unit(world.district_a, f"甲{i}派出所", f"TX{i:02d}", UnitKind.POLICE_STATION)
        for i in range(n)
    ]
    brigade = unit(world.district_a, "甲区交警中队", "TXJJ", UnitKind.TRAFFIC_BRIGADE)
    return extra, brigade


def test_ranking_among_peers_of_the_same_kind_with_a_minimum_sample(
    world, btypes, rolled, settings
):
    settings.DASHBOARD_MIN_RANK_SAMPLE = 30
    extra, brigade = _stations(world, 3)
    hukou = btypes["hukou"]
    day = days_ago(3)
    daily(world.station_a1, hukou, day, ratings=satisfied(190, 10))
    daily(world.station_a2, hukou, day, ratings=satisfied(120, 80))  # clearly worst
    daily(world.station_b1, hukou, day, ratings=satisfied(180, 20))
    for i, s in enumerate(extra):
        daily(s, hukou, day, ratings=satisfied(185 + i, 15 - i))
    daily(extra[0], btypes["jcj_110"], day, ratings=satisfied(0, 0))
    tiny = unit(world.district_b, "乙二派出所", "TB02", UnitKind.POLICE_STATION)
    daily(tiny, hukou, day, ratings=satisfied(2, 27))  # 29 answers: below the minimum
    daily(brigade, btypes["traffic_ticket"], day, ratings=satisfied(10, 90))  # not a peer
    rolled()

    ranking = unit_ranking_for(city_supervisor(world), world.city, period=period_parse("30"))

    assert ranking["kind"] == UnitKind.POLICE_STATION
    assert ranking["peers"] == 7 and ranking["ranked"] == 6
    rows = {r["unit"].name: r for r in ranking["rows"]}
    assert "甲区交警中队" not in rows  # ranked among brigades, not stations
    assert not rows["乙二派出所"]["ranked"]
    assert rows["乙二派出所"]["n"] == 29  # listed, with its figures, but not ranked
    assert ranking["rows"][-1]["unit"].name == "乙二派出所"  # unranked after the ranked
    worst = rows["甲二派出所"]
    assert worst["median_rank"] == 6 and worst["rank_high"] == 6
    assert worst["p_last"] > 0.9 and worst["probably_last"]
    assert worst["flag"] in ("alert", "alarm") and worst["z"] < 0
    assert worst["low"] < 0.6 < worst["high"]
    best = ranking["rows"][0]
    assert best["median_rank"] == 1 and best["rank_low"] <= 2
    assert ranking["rule_version"]


def test_ranking_of_a_district_users_units_is_among_their_peers_only(world, btypes, rolled):
    hukou = btypes["hukou"]
    day = days_ago(3)
    daily(world.station_a1, hukou, day, ratings=satisfied(90, 10))
    daily(world.station_a2, hukou, day, ratings=satisfied(80, 20))
    daily(world.station_b1, hukou, day, ratings=satisfied(10, 90))
    rolled()
    user = world.user("a", Role.SUPERVISOR)
    ranking = unit_ranking_for(user, world.district_a, period=period_parse("30"))
    assert ranking["peers"] == 2
    assert [r["unit"] for r in ranking["rows"]] == [world.station_a1, world.station_a2]
    # A city user ranks the same two stations among all three
    city = unit_ranking_for(city_supervisor(world), world.district_a, period=period_parse("30"))
    assert city["peers"] == 3
    assert {r["median_rank"] for r in city["rows"]} == {1, 2}


def test_ranking_of_other_kind_and_a_station_user(world, btypes, rolled):
    _extra, brigade = _stations(world, 0)
    daily(brigade, btypes["traffic_ticket"], days_ago(3), ratings=satisfied(40, 10))
    rolled()
    ranking = unit_ranking_for(
        city_supervisor(world), world.city, period=period_parse("30"), kind=UnitKind.TRAFFIC_BRIGADE
    )
    assert [r["unit"] for r in ranking["rows"]] == [brigade]
    # One unit alone is not ranked first, nor last, of anything
    [row] = ranking["rows"]
    assert not row["ranked"] and not row["small_sample"] and row["p_last"] is None
    alone = unit_ranking_for(world.user("a1", Role.UNIT_LEADER), world.station_a1,
                             period=period_parse("30"))  # fmt: skip
    assert alone["peers"] == 1 and alone["ranked"] == 0

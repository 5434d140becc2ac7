"""The satisfaction figures: trend, comparison by business type, mix adjustment."""

from datetime import timedelta

import pytest

from minyi.core.periods import period_parse
from minyi.dashboards.figures.ranking import unit_ranking_for
from minyi.dashboards.figures.satisfaction import (
    business_type_comparison_for,
    satisfaction_trend_for,
)
from minyi.dashboards.tests.factories import (
    city_supervisor,
    daily,
    days_ago,
    satisfied,
)

pytestmark = pytest.mark.django_db


def test_trend_by_day_with_wilson_band_and_small_days_suppressed(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(45, 5))
    daily(world.station_a2, btypes["hukou"], days_ago(2), ratings=satisfied(40, 10))
    daily(world.station_a1, btypes["hukou"], days_ago(1), ratings=satisfied(3))
    rolled()

    trend = satisfaction_trend_for(city_supervisor(world), world.city, period=period_parse("30"))

    assert not trend["by_week"]
    points = {p["start"]: p for p in trend["points"]}
    assert len(points) == 30
    two = points[days_ago(2)]
    assert (two["s"], two["n"], two["rate"]) == (85, 100, 0.85)
    assert two["low"] < 0.85 < two["high"]
    one = points[days_ago(1)]  # three answers: not shown
    assert one["suppressed"] and one["n"] is None and one["rate"] is None
    assert (trend["total"]["s"], trend["total"]["n"]) == (88, 103)


def test_trend_of_a_unit_is_its_subtree_only(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(10))
    daily(world.station_b1, btypes["hukou"], days_ago(2), ratings=satisfied(0, 10))
    rolled()
    trend = satisfaction_trend_for(
        city_supervisor(world), world.district_a, period=period_parse("30")
    )
    assert (trend["total"]["s"], trend["total"]["n"]) == (10, 10)


def test_trend_over_90_days_is_weekly(world, btypes, rolled):
    for n in range(90):
        daily(world.station_a1, btypes["hukou"], days_ago(n), ratings=satisfied(5))
    rolled()
    trend = satisfaction_trend_for(city_supervisor(world), world.city, period=period_parse("90"))
    assert trend["by_week"]
    assert 13 <= len(trend["points"]) <= 14
    assert sum(p["n"] for p in trend["points"]) == 450
    assert all(p["end"] - p["start"] <= timedelta(days=6) for p in trend["points"])


def test_trend_for_one_business_type(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(10))
    daily(world.station_a1, btypes["jcj_110"], days_ago(2), ratings=satisfied(0, 10))
    rolled()
    trend = satisfaction_trend_for(
        city_supervisor(world),
        world.city,
        period=period_parse("30"),
        business_type=btypes["jcj_110"].pk,
    )
    assert (trend["total"]["s"], trend["total"]["n"]) == (0, 10)


def test_mix_adjusted_ratio_uses_reference_rates_per_business_type(world, btypes, rolled):
    # Given a window service that rates 90% and traffic tickets that rate 50% across the city
    hukou, ticket = btypes["hukou"], btypes["traffic_ticket"]
    day = days_ago(4)
    daily(world.station_a1, hukou, day, ratings=satisfied(90, 10))
    daily(world.station_a2, ticket, day, ratings=satisfied(50, 50))
    daily(world.station_b1, hukou, day, ratings=satisfied(45, 5))
    daily(world.station_b1, ticket, day, ratings=satisfied(25, 25))
    rolled()

    ranking = unit_ranking_for(city_supervisor(world), world.city, period=period_parse("30"))
    rows = {r["unit"]: r for r in ranking["rows"]}
    # Reference: hukou 135/150 = 0.9, tickets 75/150 = 0.5
    a2 = rows[world.station_a2]["mix"]
    assert a2["observed"] == 50 and a2["expected"] == pytest.approx(50.0)
    assert a2["ratio"] == pytest.approx(1.0)  # low raw rate, exactly what its mix predicts
    b1 = rows[world.station_b1]["mix"]
    assert b1["expected"] == pytest.approx(45 + 25)
    assert rows[world.station_a2]["rate"] == 0.5

    comparison = business_type_comparison_for(
        city_supervisor(world), world.station_b1, period=period_parse("30")
    )
    by_name = {r["business_type"].name: r for r in comparison["rows"]}
    assert by_name["户籍办理"]["rate"] == 0.9
    assert by_name["户籍办理"]["reference"]["rate"] == 0.9
    assert by_name["交通违法处理"]["reference"]["rate"] == 0.5
    assert comparison["mix"]["ratio"] == pytest.approx(1.0)


def test_business_type_cells_about_fewer_than_5_people_are_suppressed(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(4), ratings=satisfied(30))
    daily(world.station_a1, btypes["jcj_110"], days_ago(4), ratings=satisfied(3, 1))
    rolled()
    comparison = business_type_comparison_for(
        city_supervisor(world), world.station_a1, period=period_parse("30")
    )
    by_name = {r["business_type"].name: r for r in comparison["rows"]}
    small = by_name["110接处警"]
    assert small["suppressed"] and small["n"] is None and small["rate"] is None
    assert small["sent"] is None
    assert by_name["户籍办理"]["n"] == 30

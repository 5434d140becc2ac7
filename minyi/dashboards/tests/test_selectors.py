from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.dashboards.periods import period_parse
from minyi.dashboards.rollups import dashboard_rollups_refresh, repeat_contacts_fill
from minyi.dashboards.selectors import (
    DrillFilters,
    UnitIndex,
    business_type_comparison_for,
    callback_timeliness_for,
    drill_rows,
    officer_satisfaction_for,
    repeat_contacts_for,
    satisfaction_trend_for,
    top_reasons_for,
    unit_ranking_for,
    workorder_performance_for,
)
from minyi.dashboards.tests.factories import (
    at,
    callback,
    daily,
    days_ago,
    event,
    satisfied,
    survey,
    work_order,
)
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.tests.factories import OfficerFactory, unit
from minyi.workorders.models import WorkOrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["live", "rolled"])
def rolled(request):
    """Each figure is checked twice: read live, and after the rollups are refreshed."""

    def apply():
        if request.param == "rolled":
            # Late enough that every survey is final and every callback past the lag
            dashboard_rollups_refresh(now=timezone.now() + timedelta(days=15))

    return apply


def _city(world):
    return world.user("city", Role.SUPERVISOR)


# --- Trend -----------------------------------------------------------------------------------


def test_trend_by_day_with_wilson_band_and_small_days_suppressed(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(45, 5))
    daily(world.station_a2, btypes["hukou"], days_ago(2), ratings=satisfied(40, 10))
    daily(world.station_a1, btypes["hukou"], days_ago(1), ratings=satisfied(3))
    rolled()

    trend = satisfaction_trend_for(_city(world), world.city, period=period_parse("30"))

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
    trend = satisfaction_trend_for(_city(world), world.district_a, period=period_parse("30"))
    assert (trend["total"]["s"], trend["total"]["n"]) == (10, 10)


def test_trend_over_90_days_is_weekly(world, btypes, rolled):
    for n in range(90):
        daily(world.station_a1, btypes["hukou"], days_ago(n), ratings=satisfied(5))
    rolled()
    trend = satisfaction_trend_for(_city(world), world.city, period=period_parse("90"))
    assert trend["by_week"]
    assert 13 <= len(trend["points"]) <= 14
    assert sum(p["n"] for p in trend["points"]) == 450
    assert all(p["end"] - p["start"] <= timedelta(days=6) for p in trend["points"])


def test_trend_for_one_business_type(world, btypes, rolled):
    daily(world.station_a1, btypes["hukou"], days_ago(2), ratings=satisfied(10))
    daily(world.station_a1, btypes["jcj_110"], days_ago(2), ratings=satisfied(0, 10))
    rolled()
    trend = satisfaction_trend_for(
        _city(world), world.city, period=period_parse("30"), business_type=btypes["jcj_110"].pk
    )
    assert (trend["total"]["s"], trend["total"]["n"]) == (0, 10)


# --- Ranking ---------------------------------------------------------------------------------


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

    ranking = unit_ranking_for(_city(world), world.city, period=period_parse("30"))

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
    city = unit_ranking_for(_city(world), world.district_a, period=period_parse("30"))
    assert city["peers"] == 3
    assert {r["median_rank"] for r in city["rows"]} == {1, 2}


def test_ranking_of_other_kind_and_a_station_user(world, btypes, rolled):
    _extra, brigade = _stations(world, 0)
    daily(brigade, btypes["traffic_ticket"], days_ago(3), ratings=satisfied(40, 10))
    rolled()
    ranking = unit_ranking_for(
        _city(world), world.city, period=period_parse("30"), kind=UnitKind.TRAFFIC_BRIGADE
    )
    assert [r["unit"] for r in ranking["rows"]] == [brigade]
    # One unit alone is not ranked first, nor last, of anything
    [row] = ranking["rows"]
    assert not row["ranked"] and not row["small_sample"] and row["p_last"] is None
    alone = unit_ranking_for(world.user("a1", Role.UNIT_LEADER), world.station_a1,
                             period=period_parse("30"))  # fmt: skip
    assert alone["peers"] == 1 and alone["ranked"] == 0


def test_mix_adjusted_ratio_uses_reference_rates_per_business_type(world, btypes, rolled):
    # Given a window service that rates 90% and traffic tickets that rate 50% across the city
    hukou, ticket = btypes["hukou"], btypes["traffic_ticket"]
    day = days_ago(4)
    daily(world.station_a1, hukou, day, ratings=satisfied(90, 10))
    daily(world.station_a2, ticket, day, ratings=satisfied(50, 50))
    daily(world.station_b1, hukou, day, ratings=satisfied(45, 5))
    daily(world.station_b1, ticket, day, ratings=satisfied(25, 25))
    rolled()

    ranking = unit_ranking_for(_city(world), world.city, period=period_parse("30"))
    rows = {r["unit"]: r for r in ranking["rows"]}
    # Reference: hukou 135/150 = 0.9, tickets 75/150 = 0.5
    a2 = rows[world.station_a2]["mix"]
    assert a2["observed"] == 50 and a2["expected"] == pytest.approx(50.0)
    assert a2["ratio"] == pytest.approx(1.0)  # low raw rate, exactly what its mix predicts
    b1 = rows[world.station_b1]["mix"]
    assert b1["expected"] == pytest.approx(45 + 25)
    assert rows[world.station_a2]["rate"] == 0.5

    comparison = business_type_comparison_for(
        _city(world), world.station_b1, period=period_parse("30")
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
        _city(world), world.station_a1, period=period_parse("30")
    )
    by_name = {r["business_type"].name: r for r in comparison["rows"]}
    small = by_name["110接处警"]
    assert small["suppressed"] and small["n"] is None and small["rate"] is None
    assert small["sent"] is None
    assert by_name["户籍办理"]["n"] == 30


# --- Callbacks -------------------------------------------------------------------------------


def test_callback_on_time_rate_over_callbacks_due_in_the_period(world, btypes, rolled):
    hukou = btypes["hukou"]
    due = at(days_ago(3), 10)
    for hours in (-5, -1, 0):  # on time (completed at the due time counts)
        callback(world.station_a1, hukou, due_at=due, completed_at=due + timedelta(hours=hours))
    callback(world.station_a1, hukou, due_at=due, completed_at=due + timedelta(hours=2))  # late
    callback(world.station_a2, hukou, due_at=due)  # open, overdue now
    callback(world.station_a2, hukou, due_at=timezone.now() + timedelta(hours=5))  # not yet due
    old = at(days_ago(60))
    callback(world.station_b1, hukou, due_at=old)  # overdue now, due before the period
    rolled()

    figure = callback_timeliness_for(_city(world), world.city, period=period_parse("30"))

    total = figure["total"]
    assert (total["s"], total["n"]) == (3, 6)
    assert (total["late"], total["open"], total["overdue_now"]) == (1, 2, 2)
    rows = {r["unit"]: r for r in figure["rows"]}
    assert (rows[world.district_a]["s"], rows[world.district_a]["n"]) == (3, 6)
    assert rows[world.district_b]["n"] == 0 and rows[world.district_b]["overdue_now"] == 1


# --- Work orders -----------------------------------------------------------------------------


def test_work_orders_on_time_overdue_closure_and_true_resolution(world, btypes, rolled):
    hukou = btypes["hukou"]
    today = timezone.localdate()
    sent = at(days_ago(10), 9)
    deadline = days_ago(3)
    a1 = world.station_a1
    # Fed back in time, closed after a satisfied 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CLOSED,
               feedback_at=at(days_ago(4)), closed_at=at(days_ago(2)), resolved=True)  # fmt: skip
    # Fed back on the deadline day itself, closed without a satisfied 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CLOSED,
               feedback_at=at(deadline, 20), closed_at=at(days_ago(1)))  # fmt: skip
    # Fed back late, waiting for the 追评
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.FEEDBACK,
               feedback_at=at(days_ago(2)))  # fmt: skip
    # No feedback and past the deadline: late and overdue now
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.ACCEPTED)
    # Still within its deadline
    work_order(a1, hukou, dispatched_at=sent, deadline=today + timedelta(days=2))
    # Cancelled after an upheld appeal: left out of the rates
    work_order(a1, hukou, dispatched_at=sent, deadline=deadline, status=WorkOrderStatus.CANCELLED)
    rolled()

    figure = workorder_performance_for(_city(world), world.city, period=period_parse("30"))

    t = figure["total"]
    assert t["dispatched"] == 5 and t["cancelled"] == 1
    assert (t["on_time"]["s"], t["on_time"]["n"]) == (2, 4)
    assert (t["closure"]["s"], t["closure"]["n"]) == (2, 5)
    assert (t["resolution"]["s"], t["resolution"]["n"]) == (1, 2)
    assert t["overdue_now"] == 1 and t["open"] == 3


# --- Reasons ---------------------------------------------------------------------------------


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

    figure = top_reasons_for(_city(world), world.city, period=period_parse("30"))

    assert figure["base"] == 8
    rows = {r["tag"]: r for r in figure["rows"]}
    assert (rows["attitude"]["s"], rows["attitude"]["rate"]) == (8, 1.0)
    assert rows["efficiency"]["suppressed"] and rows["efficiency"]["s"] is None
    series = {s["tag"]: s["values"] for s in figure["series"]}
    assert sum(v or 0 for v in series["attitude"]) == 8
    assert set(series["efficiency"]) <= {0, None}


# --- 跑多次 -----------------------------------------------------------------------------------


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

    figure = repeat_contacts_for(_city(world), world.city, period=period_parse("30"))

    assert (figure["pairs"], figure["repeats"]) == (8, 9)
    units = {r["unit"]: r for r in figure["units"]}
    assert units[world.district_a]["pairs"] == 6
    assert (units[world.district_b]["pairs"], units[world.district_b]["repeats"]) == (2, 3)
    types = {r["business_type"].code: r for r in figure["types"]}
    assert types["hukou"]["pairs"] == 6
    assert types["jcj_110"]["suppressed"] and types["jcj_110"]["pairs"] is None


# --- Officers --------------------------------------------------------------------------------


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

    figure = officer_satisfaction_for(_city(world), world.station_a1, period=period_parse("30"))

    assert [(r["officer"], r["s"], r["n"]) for r in figure["rows"]] == [(busy, 4, 6)]
    assert figure["merged"] == 2
    assert figure["other"]["suppressed"] and figure["other"]["n"] is None


# --- Drill-down ------------------------------------------------------------------------------


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


def test_unit_index_refuses_units_outside_the_subtree(world):
    from minyi.core.errors import NotFound

    index = UnitIndex(world.user("a1", Role.SUPERVISOR))
    assert index.get(world.station_a1.pk) == world.station_a1
    with pytest.raises(NotFound):
        index.get(world.station_a2.pk)
    with pytest.raises(NotFound):
        index.get("x")

"""The report's figures are the dashboard's: the same selectors, the same period and scope,
the same numbers; and a district's figures hold nothing of another district."""

import json
import re
from datetime import date

import pytest
from django.utils import timezone

from minyi.accountability.models import AccountabilityCase, CaseTrigger
from minyi.dashboards.figures.callbacks import callback_timeliness_for
from minyi.dashboards.figures.opinions import opinion_performance_for
from minyi.dashboards.figures.workorders import workorder_performance_for
from minyi.dashboards.page import dashboard_for
from minyi.dashboards.rates import rate
from minyi.dashboards.tests.factories import city_supervisor
from minyi.opinions.selectors import channel_rates_visible_to
from minyi.orgs.choices import Role, UnitKind
from minyi.reports.figures import (
    ReportScope,
    compare,
    month_period,
    monthly_figures,
)
from minyi.reports.tests.factories import (
    A_MARKER,
    B_MARKER,
    MOBILE_IN_TEXT,
    MONTH,
    NOW,
    PREVIOUS,
    month_data,
)

TODAY = timezone.localdate(NOW)
# A mobile number standing alone (not the digits of a fraction such as 0.1609195402).
MOBILE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?!\d)")


def _rates(d: dict) -> dict:
    return {k: d[k] for k in ("s", "n", "rate", "low", "high", "suppressed")}


def _by_unit(rows: list[dict]) -> dict:
    return {(r["unit"]["id"] if isinstance(r["unit"], dict) else r["unit"].pk): r for r in rows}


@pytest.fixture
def data(world):
    return month_data(world)


@pytest.mark.django_db
def test_every_figure_equals_the_dashboards_for_the_same_period_and_scope(world, data):
    leader = world.user("a", Role.SUPERVISOR)
    unit = world.district_a
    period = month_period(MONTH, today=TODAY)
    figures = monthly_figures(leader, unit, MONTH, now=NOW)
    cur = figures["current"]

    page = dashboard_for(leader, unit, period=period, only={"trend", "ranking", "reasons"})
    # Satisfaction: the month's rate and every day's point with its Wilson interval.
    assert cur["satisfaction"]["total"] == page["trend"]["total"]
    assert cur["satisfaction"]["total"]["n"] > 100
    assert [_rates(p) for p in cur["satisfaction"]["points"]] == [
        _rates(p) for p in page["trend"]["points"]
    ]
    # Ranking of the stations under the district: rate, interval, rank and rank interval.
    keys = ("n", "rate", "low", "high", "adjusted", "median_rank", "rank_low", "rank_high")
    assert [{k: r[k] for k in keys} for r in cur["ranking"]["rows"]] == [
        {k: r[k] for k in keys} for r in page["ranking"]["rows"]
    ]
    # Callback reasons (tags), counts and shares.
    assert [(r["tag"], r["s"], r["rate"]) for r in cur["reasons"]["rows"]] == [
        (r["tag"], r["s"], r["rate"]) for r in page["reasons"]["rows"]
    ]
    assert cur["reasons"]["base"] == page["reasons"]["base"] > 0

    callbacks = callback_timeliness_for(leader, unit, period=period, now=NOW)
    assert _rates(cur["callbacks"]["total"]) == _rates(callbacks["total"])
    # a1: 5, a2: 9, and the callback behind each of the two work orders.
    assert cur["callbacks"]["total"]["n"] == 16
    mine = _by_unit(cur["callbacks"]["rows"])
    for row in callbacks["rows"]:
        assert _rates(mine[row["unit"].pk]) == _rates(row)

    orders = workorder_performance_for(leader, unit, period=period, today=TODAY)
    assert cur["workorders"]["total"]["dispatched"] == orders["total"]["dispatched"] == 2
    assert _rates(cur["workorders"]["total"]["on_time"]) == _rates(orders["total"]["on_time"])

    opinions = opinion_performance_for(leader, unit, period=period, today=TODAY)
    assert _rates(cur["opinions"]["total"]["reply"]) == _rates(opinions["total"]["reply"])
    assert cur["opinions"]["total"]["received"] == 6


@pytest.mark.django_db
def test_the_report_reads_as_the_bureau_reads_whoever_asks(world, data):
    """The stored report is made with ReportScope(bureau): the same numbers as the bureau's
    own leader sees, and as the city supervisor sees for that bureau."""
    unit = world.district_a
    as_scope = monthly_figures(ReportScope(unit), unit, MONTH, now=NOW)
    as_leader = monthly_figures(world.user("a", Role.SUPERVISOR), unit, MONTH, now=NOW)
    as_city = monthly_figures(city_supervisor(world), unit, MONTH, now=NOW)
    for key in ("satisfaction", "callbacks", "workorders", "opinions", "reasons", "warnings"):
        assert as_scope["current"][key] == as_leader["current"][key] == as_city["current"][key]


@pytest.mark.django_db
def test_own_rank_is_the_citys_rank_of_the_bureau(world, data):
    supervisor = city_supervisor(world)
    period = month_period(MONTH, today=TODAY)
    city = dashboard_for(
        supervisor,
        world.city,
        period=period,
        kind=UnitKind.DISTRICT_BUREAU,
        only={"ranking"},
    )
    row = next(r for r in city["ranking"]["rows"] if r["unit"].pk == world.district_a.pk)
    own = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)[
        "current"
    ]["ranking"]["own"]
    assert own["unit"]["id"] == world.district_a.pk
    assert (own["n"], own["rate"], own["ranked"]) == (row["n"], row["rate"], row["ranked"])
    # The city's report has no peers above it.
    city_fig = monthly_figures(ReportScope(world.city), world.city, MONTH, now=NOW)
    assert city_fig["current"]["ranking"]["own"] is None


@pytest.mark.django_db
def test_reply_rate_by_channel_adds_up_to_the_dashboards_total(world, data):
    fig = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    opinions = fig["current"]["opinions"]
    channels = {c["channel"]: c for c in opinions["channels"]}
    assert set(channels) == {"h5", "sms"}
    assert channels["h5"]["received"] == 4 and channels["sms"]["received"] == 2
    assert sum(c["received"] for c in channels.values()) == opinions["total"]["received"]
    assert sum(c["answered"] for c in channels.values()) == opinions["total"]["answered"] == 4
    assert channels["h5"]["reply"]["low"] is not None  # with its Wilson interval
    # The same numbers as the opinions page 渠道答复率 shows the district's supervisor
    period = month_period(MONTH, today=TODAY)
    page = channel_rates_visible_to(
        world.user("a", Role.SUPERVISOR), start=period.start_at, end=period.end_before
    )
    shown = {r.channel: (r.received, r.answered) for r in page if r.channel and r.received}
    assert shown == {c: (v["received"], v["answered"]) for c, v in channels.items()}


@pytest.mark.django_db
def test_warnings_issued_in_the_month_and_what_became_of_them(world, data):
    AccountabilityCase.objects.create(
        unit=world.station_a2,
        trigger=CaseTrigger.WARNING,
        key=f"warning:{data['warning_a'].pk}",
    )
    fig = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    warnings = fig["current"]["warnings"]
    assert warnings["total"] == 2  # a2's officer (red) and a1 (orange); not b1's, not green
    rows = {r["id"]: r for r in warnings["rows"]}
    officer = rows[data["warning_a"].pk]
    assert officer["replies"] == 1 and officer["case"] and officer["outcome"] == "仍在预警中"
    assert rows[data["ended"].pk]["outcome"] == "已转为绿色"
    assert warnings["counts"] | {} == {
        "red": 1,
        "orange": 1,
        "officer": 1,
        "unit": 1,
        "replied": 1,
        "cases": 1,
        "ended": 1,
    }


@pytest.mark.django_db
def test_a_districts_figures_hold_nothing_of_another_district(world, data):
    fig = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    text = json.dumps(fig, ensure_ascii=False)
    for name in (world.district_b.name, world.station_b1.name, world.officers["b1"].name):
        assert name not in text
    assert B_MARKER not in text
    assert A_MARKER in text  # the district's own quotes are there (masked)
    assert MOBILE_IN_TEXT not in text
    assert not MOBILE.search(text)  # no mobile number at all
    assert world.city.name not in text  # nor the city's own rows


@pytest.mark.django_db
def test_changes_since_last_month_compare_like_with_like(world, data):
    fig = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    assert fig["previous_month"] == f"{PREVIOUS:%Y-%m}"
    headline = {r["key"]: r for r in fig["changes"]["headline"]}
    sat = headline["satisfaction"]
    assert sat["current"] == fig["current"]["satisfaction"]["total"]["rate"]
    assert sat["previous"] == fig["previous"]["satisfaction"]["total"]["rate"]
    assert sat["diff"] == pytest.approx(sat["current"] - sat["previous"])
    assert sat["verdict"] in {"up", "down", "noise"}
    assert fig["changes"]["reasons"][0]["tag"] == fig["current"]["reasons"]["rows"][0]["tag"]


def test_a_change_is_called_one_only_beyond_the_intervals():
    r = rate
    assert compare(r(95, 100), r(70, 100))["verdict"] == "up"
    assert compare(r(70, 100), r(95, 100))["verdict"] == "down"
    assert compare(r(9, 10), r(8, 10))["verdict"] == "noise"  # 10 points, within noise
    assert compare(r(0, 0), r(8, 10))["verdict"] == "none"
    assert compare(r(9, 10), r(8, 10))["diff"] == pytest.approx(0.1)


def test_month_period_is_the_dashboards_month():
    period = month_period(date(2026, 10, 1), today=date(2026, 11, 3))
    assert (period.key, period.start, period.end) == (
        "2026-10",
        date(2026, 10, 1),
        date(2026, 10, 31),
    )


@pytest.mark.django_db
def test_emerging_topics_keep_the_districts_own_units_and_masked_quotes(world, monkeypatch):
    """Whatever insight returns, a row of a unit outside the district is dropped and every
    quote is masked again (a mobile never reaches the report)."""

    def fake(user, unit, *, as_of):
        assert as_of == date(2026, 10, 31)
        row = {"kind": "tag", "key": "attitude", "label": "态度", "current": 9, "expected": 3.0}
        row |= {"ratio": 3.0, "p_value": 0.001, "words": "态度问题明显增多"}
        return {
            "rule_version": "emerging-test",
            "window": (date(2026, 10, 19), date(2026, 11, 1)),
            "baseline": (date(2026, 8, 24), date(2026, 10, 18)),
            "rows": [
                row
                | {"unit_id": world.station_a2.pk, "unit_name": world.station_a2.name}
                | {"quotes": [f"民警态度差，电话{MOBILE_IN_TEXT}"]},
                row
                | {"unit_id": world.station_b1.pk, "unit_name": world.station_b1.name}
                | {"quotes": [B_MARKER]},
            ],
        }

    monkeypatch.setattr("minyi.reports.figures.emerging_topics_for", fake)
    fig = monthly_figures(ReportScope(world.district_a), world.district_a, MONTH, now=NOW)
    rows = fig["current"]["emerging"]["rows"]
    assert [r["unit_id"] for r in rows] == [world.station_a2.pk]
    assert MOBILE_IN_TEXT not in rows[0]["quotes"][0] and "态度差" in rows[0]["quotes"][0]
    assert fig["current"]["emerging"]["window"] == ["2026-10-19", "2026-11-01"]

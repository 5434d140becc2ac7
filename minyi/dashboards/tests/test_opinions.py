"""The opinions figure: received, reply rate, on-time rate (of those due: answered, or open
past the deadline), satisfaction with answers and overdue-now per child unit, scoped to the
user's subtree, on the dashboard page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.periods import period_parse
from minyi.dashboards.figures.opinions import opinion_performance_for, opinions_table
from minyi.dashboards.scope import UnitIndex
from minyi.opinions.models import OpinionKind
from minyi.opinions.services.handling import opinion_answer, opinion_rate
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db
ANSWER = "您反映的问题已核实处理，感谢您的监督。"


def _answered(world, unit, *, days_ago=0, rating=None, mobile=None):
    """An opinion submitted `days_ago` days ago and answered now (late when its deadline
    has passed), rated when `rating` is given."""
    now = timezone.now()
    kwargs = {"mobile": mobile} if mobile else {}
    opinion = make_opinion(world, unit=unit, now=now - timedelta(days=days_ago), **kwargs)
    leader = world.user("a2" if unit == world.station_a2 else "a1", Role.UNIT_LEADER)
    opinion = opinion_answer(actor=leader, opinion=opinion, text=ANSWER)
    if rating is not None:
        opinion_rate(opinion=opinion, mobile=mobile, rating=rating)
    return opinion


def _data(world):
    """At station a2 in the last 30 days: one answered on time and rated satisfied, one
    answered late and rated unsatisfied, one still open past its deadline; one more open past
    its deadline from two months ago. At station a1: one received, unanswered, in time. At b1:
    one received."""
    _answered(world, world.station_a2, rating=2, mobile="13700100001")
    _answered(world, world.station_a2, days_ago=20, rating=5, mobile="13700100002")
    now = timezone.now()
    make_opinion(world, now=now - timedelta(days=20))
    make_opinion(world, kind=OpinionKind.SUGGESTION, now=now - timedelta(days=60))
    make_opinion(world, unit=world.station_a1)
    make_opinion(world, unit=world.station_b1)


def _figure(world, key="a", role=Role.SUPERVISOR, unit=None):
    user = world.user(key, role)
    index = UnitIndex(user)
    return opinion_performance_for(user, unit or index.root, period=period_parse("30"), index=index)


def test_rates_per_child_unit_with_intervals(world):
    _data(world)

    fig = _figure(world)

    rows = {r["unit"].pk: r for r in fig["rows"]}
    a2 = rows[world.station_a2.pk]
    assert (a2["received"], a2["answered"], a2["overdue_now"]) == (3, 2, 2)
    assert (a2["reply"]["s"], a2["reply"]["n"]) == (2, 3)
    # On time / due: the open one past its deadline is due and counts as not on time
    assert (a2["on_time"]["s"], a2["on_time"]["n"]) == (1, 3)
    assert (a2["satisfaction"]["s"], a2["satisfaction"]["n"]) == (1, 2)
    assert a2["reply"]["low"] < 2 / 3 < a2["reply"]["high"]
    a1 = rows[world.station_a1.pk]
    assert (a1["received"], a1["answered"], a1["reply"]["rate"]) == (1, 0, 0.0)
    assert a1["on_time"]["rate"] is None  # nothing due yet: no rate, not 0%
    # District a's total holds its two stations, never district b's station
    assert fig["total"]["received"] == 4 and fig["total"]["overdue_now"] == 2


def test_an_opinion_left_unanswered_past_its_deadline_lowers_the_on_time_rate(world):
    # Given at station a1 one opinion answered on time and one left open past its deadline
    _answered(world, world.station_a1)
    overdue = make_opinion(world, unit=world.station_a1, now=timezone.now() - timedelta(days=20))
    a1 = {r["unit"].pk: r for r in _figure(world)["rows"]}[world.station_a1.pk]
    assert (a1["on_time"]["s"], a1["on_time"]["n"]) == (1, 2)

    # When the overdue one is answered at last, late
    opinion_answer(actor=world.user("a1", Role.UNIT_LEADER), opinion=overdue, text=ANSWER)

    # Then the rate is the same: it was due either way, and late either way
    a1 = {r["unit"].pk: r for r in _figure(world)["rows"]}[world.station_a1.pk]
    assert (a1["on_time"]["s"], a1["on_time"]["n"]) == (1, 2)


def test_an_open_opinion_not_yet_due_does_not_count(world):
    make_opinion(world, unit=world.station_a1)
    _answered(world, world.station_a1)
    a1 = {r["unit"].pk: r for r in _figure(world)["rows"]}[world.station_a1.pk]
    assert (a1["on_time"]["s"], a1["on_time"]["n"]) == (1, 1)


def test_city_view_rolls_stations_up_into_districts(world):
    _data(world)
    fig = _figure(world, "city")
    rows = {r["unit"].pk: r for r in fig["rows"]}
    assert rows[world.district_a.pk]["received"] == 4
    assert rows[world.district_b.pk]["received"] == 1
    assert fig["total"]["received"] == 5


def test_a_station_sees_only_itself(world):
    _data(world)
    fig = _figure(world, "a1", Role.UNIT_LEADER)
    assert fig["total"]["received"] == 1 and fig["total"]["overdue_now"] == 0


def test_table_shows_rates_and_dashes(world):
    _data(world)
    table = opinions_table(_figure(world))
    texts = [[c.text for c in row] for row in table.rows]
    a2 = next(r for r in texts if r[0] == world.station_a2.name)
    assert a2[1:4] == ["3", "2", "66.7%"] and a2[5] == "33.3%" and a2[7] == "2"
    a1 = next(r for r in texts if r[0] == world.station_a1.name)
    assert a1[5] == "—"  # no answers: no on-time rate
    assert texts[-1][0] == "合计"


def test_dashboard_page_shows_the_section(client, world, btypes):
    _data(world)
    client.force_login(world.user("a", Role.SUPERVISOR))
    response = client.get(reverse("dashboards:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-table="opinions"' in html and "群众诉求答复" in html
    assert "66.7%" in html
    assert "答复率 75.0%" not in html  # the summary is of answered / received: 2 / 4
    assert "答复率 50.0%" in html

"""Emerging topics (民意热点) end to end: texts submitted through the portal's service, tagged
by the worker's pass, flagged per unit and for the city with the rule version and masked
quotes; a sibling district sees none of it."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import NotFound
from minyi.insight import emerging
from minyi.insight.selectors import Windows, emerging_topics_for
from minyi.insight.services import texts_tag_pending
from minyi.insight.tests.conftest import login
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db

BATTERY = "小区车棚里的电动车电瓶又被偷了，我的手机13812345678，请派出所管一管。"
QUIET = "希望派出所周末也能办理居住证。"


def _words(row) -> list[str]:
    return [row["key"], *row["also"]]


def _last_sunday():
    today = timezone.localdate()
    return today - timedelta(days=(today.weekday() + 1) % 7 or 7)


def _at(day):
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


@pytest.fixture
def burst(world):
    """A trickle of battery thefts in 甲二派出所 over the 12 baseline weeks (one a week), then
    nine a week in the two-week window; a steady other topic throughout."""
    as_of = _last_sunday()
    windows = Windows.at(as_of)
    for week in range(emerging.BASELINE_WEEKS):
        day = windows.baseline_start + timedelta(weeks=week, days=2)
        make_opinion(world, content=BATTERY, now=_at(day))
        make_opinion(world, content=QUIET, now=_at(day + timedelta(days=1)))
    for i in range(18):
        day = windows.window_start + timedelta(days=i % 14)
        make_opinion(world, content=BATTERY, now=_at(day))
    make_opinion(world, content=QUIET, now=_at(windows.window_start + timedelta(days=3)))
    texts_tag_pending()
    return as_of


def test_a_burst_is_flagged_for_the_station_its_district_and_the_city(world, burst):
    leader = world.user("city", Role.UNIT_LEADER)
    figure = emerging_topics_for(leader, world.city, as_of=burst)
    assert figure["rule_version"] == emerging.RULE_VERSION
    terms = {(r["unit_id"], t) for r in figure["rows"] if r["kind"] == "term" for t in _words(r)}
    assert (world.city.pk, "电瓶") in terms and (world.district_a.pk, "电瓶") in terms
    # The words of the same texts are one topic: one row per unit, not one per word
    row = next(r for r in figure["rows"] if "电瓶" in _words(r))
    assert {"电瓶", "电动车", "小区"} <= set(_words(row))
    assert len([r for r in figure["rows"] if r["unit_id"] == world.city.pk]) == 1
    assert row["current"] == 18 and row["expected"] == pytest.approx(2.0)
    assert "倍" in row["words"]
    assert row["quotes"] and all("13812345678" not in q for q in row["quotes"])
    assert all(r["key"] not in ("居住证", "办理") for r in figure["rows"])
    station = emerging_topics_for(world.user("a2", Role.UNIT_LEADER), world.station_a2, as_of=burst)
    assert any("电瓶" in _words(r) for r in station["rows"])


def test_nothing_is_flagged_before_the_burst(world, burst):
    leader = world.user("city", Role.UNIT_LEADER)
    before = emerging_topics_for(leader, world.city, as_of=burst - timedelta(weeks=2))
    assert not any("电瓶" in _words(r) for r in before["rows"])


def test_a_sibling_district_sees_nothing(client, world, burst):
    other = world.user("b", Role.UNIT_LEADER)
    own = emerging_topics_for(other, world.district_b, as_of=burst)
    assert own["rows"] == []
    with pytest.raises(NotFound):
        emerging_topics_for(other, world.district_a, as_of=burst)
    page = login(client, other).get(reverse("insight:topics"), {"as_of": burst.isoformat()})
    assert page.status_code == 200 and "电瓶" not in page.content.decode()
    detail = client.get(
        reverse("insight:topic_detail"),
        {"unit": world.district_a.pk, "kind": "term", "key": "电瓶", "as_of": burst.isoformat()},
    )
    assert detail.status_code == 404


def test_the_page_shows_the_rule_and_the_texts_behind_a_flag(client, world, burst):
    page = login(client, world.user("a", Role.UNIT_LEADER))
    html = page.get(reverse("insight:topics"), {"as_of": burst.isoformat()}).content.decode()
    assert emerging.RULE_VERSION in html and "电瓶" in html
    assert "13812345678" not in html
    detail = page.get(
        reverse("insight:topic_detail"),
        {"unit": world.district_a.pk, "kind": "term", "key": "电瓶", "as_of": burst.isoformat()},
    ).content.decode()
    assert detail.count("<q>") == 18 and "138****5678" in detail
    bad = page.get(reverse("insight:topic_detail"), {"kind": "nope", "key": "x"})
    assert bad.status_code == 400

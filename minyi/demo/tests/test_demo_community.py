"""The community safety demo (capability 6), built for one station (府山派出所, the station of
the fushan_* accounts, which shows every case): a valid grid, populations, incidents, the
colours of the last months, officers' work and two days of patrol, nothing after `now`,
written once and only in demo mode."""

import re
from collections import Counter
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.test import override_settings

from minyi.community.models import (
    AreaColour,
    AreaLevel,
    AreaPopulation,
    CommunityOfficer,
    GridArea,
    Incident,
    IncidentCategory,
    NoticeSubscription,
    PatrolCheckin,
    PatrolCoverage,
    PatrolPass,
    PatrolPing,
    PatrolRule,
    SafetyNotice,
    Visit,
)
from minyi.core.pii import lookup_hash
from minyi.demo.city import build_demo_city
from minyi.demo.community import MONTHS, SHOWCASE, build_community_demo, grid_problems
from minyi.orgs.models import OrgUnit

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 20, 15, 40, tzinfo=SHANGHAI)
# The showcase station and two of its neighbours: enough communities for a city rate.
STATIONS = [SHOWCASE, "330602002", "330602003"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(DEMO_MODE=True),
        transaction.atomic(),
    ):
        build_demo_city()
        result = build_community_demo(now=NOW, stations=STATIONS)
        yield result
        transaction.set_rollback(True)


def _station():
    return OrgUnit.objects.get(code=SHOWCASE)


@pytest.mark.django_db
def test_the_grid_is_valid_and_complete(demo):
    assert demo.created
    assert grid_problems(list(GridArea.objects.all())) == []
    assert GridArea.objects.values("code").distinct().count() == GridArea.objects.count()
    areas = list(GridArea.objects.filter(station=_station()))
    assert all(a.community_id is not None for a in areas)
    levels = Counter(a.level for a in areas)
    assert levels[AreaLevel.COMMUNITY] == 6
    by_pk = {a.pk: a for a in areas}
    for area in areas:
        assert area.min_lng <= area.max_lng and area.min_lat <= area.max_lat
        assert 120.4 < area.min_lng < 120.7 and 29.9 < area.min_lat < 30.1
        if area.level == AreaLevel.COMMUNITY:
            assert area.community_id == area.pk and area.parent_id is None
            assert 3 <= sum(1 for a in areas if a.parent_id == area.pk and a.level == "group") <= 6
            segments = [a for a in areas if a.parent_id == area.pk and a.level == "segment"]
            assert 1 <= len(segments) <= 3
        else:
            assert by_pk[area.community_id].level == AreaLevel.COMMUNITY
        if area.level == AreaLevel.GROUP:
            buildings = [a for a in areas if a.parent_id == area.pk]
            assert 4 <= len(buildings) <= 10
            assert area.households == sum(b.households for b in buildings)
    households = [a.households for a in areas if a.level == AreaLevel.BUILDING]
    assert max(households) <= 80 and any(h < 8 for h in households)
    keys = [a for a in areas if a.is_key]
    assert any(a.level == AreaLevel.SEGMENT for a in keys)
    assert sum(1 for a in keys if a.level == AreaLevel.GROUP) == 1


@pytest.mark.django_db
def test_populations_for_fourteen_months_add_up(demo):
    communities = GridArea.objects.filter(level=AreaLevel.COMMUNITY)
    for community in communities:
        rows = AreaPopulation.objects.filter(area=community)
        assert rows.count() == MONTHS
        latest = rows.order_by("-month").first()
        assert latest.month == NOW.date().replace(day=1)
        groups = AreaPopulation.objects.filter(
            area__parent=community, month=latest.month
        ).aggregate(r=Sum("registered"), f=Sum("floating"))
        assert (groups["r"], groups["f"]) == (latest.registered, latest.floating)
        assert 0.08 <= latest.floating / latest.registered <= 0.45
    registered = sorted(
        AreaPopulation.objects.filter(
            area__level="community", area__station=_station(), month=latest.month
        ).values_list("registered", flat=True)
    )
    assert registered[0] < 1500 and registered[1] >= 2000 and registered[-1] <= 15000


@pytest.mark.django_db
def test_incidents_are_believable_and_never_after_now(demo):
    incidents = Incident.objects.all()
    year_ago = NOW - timedelta(days=365)
    assert incidents.filter(occurred_at__gte=year_ago).count() > 100
    assert incidents.aggregate(m=Max("occurred_at"))["m"] <= NOW
    assert not incidents.exclude(source="demo").exists()
    assert incidents.values("external_id").distinct().count() == incidents.count()
    categories = Counter(incidents.values_list("category", flat=True))
    assert categories.most_common(1)[0][0] == IncidentCategory.THEFT
    night = sum(
        1
        for at in incidents.filter(category=IncidentCategory.BURGLARY).values_list(
            "occurred_at", flat=True
        )
        if not 6 <= at.astimezone(SHANGHAI).hour < 22
    )
    assert night > incidents.filter(category=IncidentCategory.BURGLARY).count() / 2
    for incident in incidents.select_related("area")[:200]:
        assert incident.area.community_id == incident.community_id
        assert incident.area.level in (AreaLevel.BUILDING, AreaLevel.SEGMENT)
        assert incident.area.min_lng - 0.0005 < incident.lng < incident.area.max_lng + 0.0005
        assert incident.area.min_lat - 0.0005 < incident.lat < incident.area.max_lat + 0.0005


@pytest.mark.django_db
def test_colours_of_the_last_months_have_red_and_green(demo):
    month = NOW.date().replace(day=1)
    assert AreaColour.objects.values("month").distinct().count() == 3
    colours = Counter(AreaColour.objects.filter(month=month).values_list("colour", flat=True))
    assert colours["red"] >= 1 and colours["green"] >= 1 and colours["grey"] == 1
    assert demo.colours == colours


@pytest.mark.django_db
def test_officers_visits_subscriptions_and_notices(demo):
    posts = CommunityOfficer.objects.filter(area__station=_station()).select_related("officer")
    per_area = Counter(posts.values_list("area_id", flat=True))
    assert len(per_area) == 6 and set(per_area.values()) <= {1, 2}
    assert all(p.officer.unit == _station() for p in posts)
    assert all(3 <= len(p.duties.splitlines()) <= 5 for p in posts)
    assert posts.filter(published=False).count() == 1
    visits = Visit.objects.filter(area__station=_station())
    assert visits.aggregate(m=Max("created_at"))["m"] <= NOW
    assert visits.filter(visited_on__lt=NOW.date() - timedelta(days=95)).count() == 0
    assert visits.filter(follow_up_done_at=None).exclude(follow_up="").exists()
    assert visits.exclude(follow_up_done_at=None).exists()
    assert sum(1 for v in visits if re.search(r"1\d{10}", v.note)) == 1
    assert len(set(visits.values_list("topic", flat=True))) >= 5
    subscriptions = list(NoticeSubscription.objects.filter(area__station=_station()))
    assert len(subscriptions) >= 6 * 2
    for s in subscriptions:
        assert s.mobile.startswith("138") and s.mobile_hash == lookup_hash("mobile", s.mobile)
    sent = SafetyNotice.objects.filter(area__station=_station()).exclude(sent_at=None)
    assert 2 <= sent.count() <= 3 and all(n.sent_at < NOW for n in sent)
    assert SafetyNotice.objects.filter(sent_at=None).count() == 1  # a draft to send


@pytest.mark.django_db
def test_two_days_of_patrol_with_passes(demo):
    station = _station()
    assert PatrolRule.objects.filter(bureau__code="330600").exists()
    pings = PatrolPing.objects.filter(station=station)
    first, last = pings.order_by("at").first().at, pings.order_by("-at").first().at
    assert last <= NOW and first >= NOW - timedelta(days=2)
    assert pings.values("unit_code").distinct().count() == 3
    assert pings.exclude(flag="").exists()
    assert PatrolCheckin.objects.exists()
    passes = PatrolPass.objects.filter(area__station=station)
    assert passes.values("area").distinct().count() >= 2
    assert passes.filter(dwell_seconds__gte=600).exists()  # parked stops
    coverage = PatrolCoverage.objects.filter(station=station)
    assert coverage.filter(units=0).exists() and coverage.filter(units__gt=0).exists()
    assert coverage.aggregate(m=Max("hour"))["m"] <= NOW


@pytest.mark.django_db
def test_the_command_writes_once_and_only_in_demo_mode(demo):
    counts = {
        model: model.objects.count()
        for model in (GridArea, Incident, Visit, PatrolPing, AreaColour, CommunityOfficer)
    }
    out = StringIO()
    with override_settings(DEMO_MODE=True):
        call_command("demo_community", "--station", SHOWCASE, stdout=out)
    assert "exists already" in out.getvalue()
    assert {model: model.objects.count() for model in counts} == counts
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError):
        call_command("demo_community", stdout=StringIO())


@pytest.mark.django_db
def test_rebuilt_just_after_midnight_on_the_first_of_a_month(demo, settings):
    """Rebuilt for 00:10 on the 1st: the current month has (almost) nothing yet, and still
    nothing lies after `now`."""
    settings.DEMO_MODE = True
    now = datetime(2026, 3, 1, 0, 10, tzinfo=SHANGHAI)
    demo = build_community_demo(now=now, stations=STATIONS, rebuild=True)
    assert demo.created and demo.incidents > 100
    assert Incident.objects.aggregate(m=Max("occurred_at"))["m"] <= now
    assert PatrolPing.objects.aggregate(m=Max("at"))["m"] <= now
    assert Visit.objects.aggregate(m=Max("visited_on"))["m"] <= now.date()
    assert AreaColour.objects.filter(month=now.date()).count() == demo.levels["community"]
    assert AreaPopulation.objects.values("month").annotate(n=Count("id")).count() == MONTHS
    rebuilt = build_community_demo(now=now, stations=STATIONS, rebuild=True)
    assert rebuilt.created and rebuilt.incidents == demo.incidents
    assert GridArea.objects.count() == sum(demo.levels.values())

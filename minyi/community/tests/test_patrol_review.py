"""Review fixes of the patrol code (issue 16): unit names shared between stations, check-ins
at key areas without a boundary, and today not judged before it is over. Every time is
explicit: the tests pass at any hour."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from minyi.community.models import (
    AreaLevel,
    PatrolCheckin,
    PatrolCoverage,
    PatrolPing,
    PatrolRule,
    PingFlag,
)
from minyi.community.patrol import (
    compliance_compute,
    passes_compute,
    patrol_overview,
    pings_ingest,
)
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, make_area, make_grid
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

DAY = date(2026, 11, 24)
LATER = timezone.make_aware(datetime(2026, 12, 1, 12))
PINGS = "/api/v1/community/pings"


def at(hour, minute=0, second=0, day=24):
    return timezone.make_aware(datetime(2026, 11, day, hour, minute, second))


def ping(unit, moment, lng, lat):
    return {"unit_code": unit, "at": moment.isoformat(), "lng": lng, "lat": lat}


@pytest.fixture
def grid(world):
    return make_grid(world)


# --- 1. Unit names repeat from station to station -------------------------------------------

A1_PLACE = (BASE_LNG, BASE_LAT)
A2_PLACE = (BASE_LNG + 0.01, BASE_LAT)  # about 1 km east: no car covers it in 30 s


def test_same_unit_name_at_two_stations_is_two_cars(world, grid):
    times = [at(8, 0), at(8, 0, 30), at(8, 1)]
    first = pings_ingest(
        station=world.station_a1, items=[ping("1号车", t, *A1_PLACE) for t in times],
        scope_unit=None,
    )  # fmt: skip
    second = pings_ingest(
        station=world.station_a2, items=[ping("1号车", t, *A2_PLACE) for t in times],
        scope_unit=None,
    )  # fmt: skip
    # Both stored, neither a duplicate, neither judged against the other's car.
    for results in (first, second):
        assert [(r.status, r.flag) for r in results] == [("accepted", "")] * 3
    for station in (world.station_a1, world.station_a2):
        assert PatrolPing.objects.filter(station=station, unit_code="1号车", flag="").count() == 3


def test_speed_is_judged_against_the_same_stations_unit_only(world, grid):
    # a1's 1号车 was stored at 08:00; a2's 1号车 pings 1 km away 10 s later: another car.
    pings_ingest(station=world.station_a1, items=[ping("1号车", at(8), *A1_PLACE)], scope_unit=None)
    (other,) = pings_ingest(
        station=world.station_a2, items=[ping("1号车", at(8, 0, 10), *A2_PLACE)], scope_unit=None
    )
    assert other.flag == ""
    # The previous good ping (before the batch) is the station's own too.
    (later,) = pings_ingest(
        station=world.station_a1, items=[ping("1号车", at(8, 0, 20), *A1_PLACE)], scope_unit=None
    )
    assert later.flag == ""
    # And a real jump of the same station's car is still caught.
    (jump,) = pings_ingest(
        station=world.station_a1, items=[ping("1号车", at(8, 0, 30), *A2_PLACE)], scope_unit=None
    )
    assert jump.flag == PingFlag.SPEED


def test_a1_key_learns_nothing_of_a2_pings(client, world, grid):
    pings_ingest(
        station=world.station_a2,
        items=[ping("1号车", at(8, 0, s), *A2_PLACE) for s in (0, 30)],
        scope_unit=None,
    )
    _, key = apikey_create(
        actor=world.user("city", Role.ADMIN), name="巡逻定位系统", unit=world.station_a1
    )
    body = {
        "station": world.station_a1.code,
        "pings": [ping("1号车", at(8, 0, s), *A1_PLACE) for s in (0, 30)]
        + [ping("1号车", at(8, 0, 15), *A1_PLACE)],
    }
    response = client.post(PINGS, body, content_type="application/json", HTTP_X_API_KEY=key)
    data = response.json()
    # Answered exactly as if a2 had sent nothing: no duplicate, no speed flag.
    assert (data["accepted"], data["duplicates"]) == (3, 0)
    assert all(not item.get("code") for item in data["items"])
    assert PatrolPing.objects.filter(station=world.station_a2).count() == 2


def test_passes_are_computed_from_the_stations_own_car(world, grid):
    # a2's 1号车 drives along a1's key segment line; a1's 1号车 stays away: a1 has no pass.
    segment_lat = BASE_LAT + 0.002
    items = [
        ping("1号车", at(8) + timedelta(seconds=30 * k), BASE_LNG + 0.0008 * k, segment_lat)
        for k in range(6)
    ]
    pings_ingest(station=world.station_a2, items=items, scope_unit=None)
    pings_ingest(station=world.station_a1, items=[ping("1号车", at(8), *A1_PLACE)], scope_unit=None)
    assert passes_compute(world.station_a1, DAY, now=LATER) == 0


# --- 2. Key areas without a boundary -------------------------------------------------------


def test_checkins_count_for_a_key_area_without_geometry(world, grid):
    area = make_area(
        world.station_a1,
        level=AreaLevel.GROUP,
        parent=grid["a1"],
        name="无边界重点区域",
        geometry=None,
        is_key=True,
    )
    for k in range(6):  # every 30 minutes: six passes (more than min_gap_minutes apart)
        PatrolCheckin.objects.create(
            area=area, unit_code="XL41", at=at(9) + timedelta(minutes=30 * k)
        )
    assert passes_compute(world.station_a1, DAY, now=LATER) == 6
    overview = patrol_overview(
        world.user("a1", Role.SUPERVISOR), first=DAY, last=DAY, station=world.station_a1, now=LATER
    )
    (result,) = [c for c in overview["compliance"] if c.area.pk == area.pk]
    assert (result.passes, result.met, result.failed, result.no_data) == (6, 1, 0, 0)
    assert result.rate == 1.0


# --- 3. Today is not judged before it is over ----------------------------------------------


def _judge(world, grid, rows, coverage, now):
    segment, area = grid["segment"], grid["group"]
    segment.key_hours = "7-9"
    area.is_key = True
    results = compliance_compute(
        areas=[segment, area],
        rules={world.station_a1.pk: PatrolRule()},  # 2 an hour, 5 a day
        passes=rows,
        coverage=coverage,
        checkin_hours=set(),
        first=DAY,
        last=DAY,
        now=now,
    )
    return {c.area.pk: c for c in results}


def test_the_current_key_hour_is_in_progress_not_failed(world, grid):
    covered = {(world.station_a1.pk, at(h)): 1 for h in range(24)}
    result = _judge(world, grid, [], covered, now=at(7, 5))
    seg = result[grid["segment"].pk]
    # 07:00–08:00 is not over: in progress; 08:00 has not begun: not counted at all.
    assert (seg.met, seg.failed, seg.no_data, seg.in_progress, seg.rate) == (0, 0, 0, 1, None)
    zone = result[grid["group"].pk]
    assert (zone.met, zone.failed, zone.no_data, zone.in_progress) == (0, 0, 0, 1)
    # Once the hour is over, it is judged.
    seg = _judge(world, grid, [], covered, now=at(8, 0))[grid["segment"].pk]
    assert (seg.failed, seg.in_progress) == (1, 1)


def test_a_key_area_is_judged_when_the_day_is_over(world, grid):
    covered = {(world.station_a1.pk, at(h)): 1 for h in range(24)}
    rows = [(grid["group"].pk, at(9, m)) for m in (0, 30)]  # 2 of 5 by noon
    zone = _judge(world, grid, rows, covered, now=at(12))[grid["group"].pk]
    assert (zone.met, zone.failed, zone.in_progress, zone.passes) == (0, 0, 1, 2)
    zone = _judge(world, grid, rows, covered, now=at(0, day=25))[grid["group"].pk]
    assert (zone.met, zone.failed, zone.in_progress) == (0, 1, 0)


def test_overview_shows_in_progress_per_station(world, grid):
    passes_compute(world.station_a1, DAY, now=at(7, 5))
    assert PatrolCoverage.objects.filter(station=world.station_a1).count() == 8  # 0–7 begun
    overview = patrol_overview(world.user("a1", Role.SUPERVISOR), first=DAY, last=DAY, now=at(7, 5))
    (station,) = [s for s in overview["stations"] if s["station"] == world.station_a1]
    assert (station["met"], station["judged"], station["in_progress"]) == (0, 0, 1)

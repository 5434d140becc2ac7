"""Patrol visibility (巡逻见警率): pings turned into passes, coverage and compliance. Every time
is explicit (a fixed day, `now` long after it): the tests pass at any hour."""

import math
import random
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from minyi.community.models import (
    AreaLevel,
    PassSource,
    PatrolCheckin,
    PatrolCoverage,
    PatrolPass,
    PatrolPing,
    PatrolRule,
    PingFlag,
)
from minyi.community.patrol import (
    AreaCompliance,
    compliance_compute,
    key_hours_parse,
    passes_compute,
    patrol_overview,
    patrol_rule_for,
    pings_ingest,
)
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, make_area, make_grid, square
from minyi.core.errors import ApplicationError

DAY = date(2026, 11, 24)
LATER = timezone.make_aware(datetime(2026, 12, 1, 12, 0))
SEGMENT_LAT = BASE_LAT + 0.002  # the key segment C-A1-R1 runs east along this latitude
M_LAT = 110_540.0
M_LNG = 111_320.0 * math.cos(math.radians(BASE_LAT))


def at(hour, minute=0, second=0):
    return timezone.make_aware(datetime(2026, 11, 24, hour, minute, second))


def ping(unit, moment, lng, lat):
    return {"unit_code": unit, "at": moment.isoformat(), "lng": lng, "lat": lat}


def ingest(world, items, station=None):
    return pings_ingest(station=station or world.station_a1, items=items, scope_unit=None)


def drive(unit, start, lng0, lat0, *, east_m_s=0.0, north_m_s=0.0, seconds=150, every=30):
    """Pings of a unit moving at a constant velocity."""
    return [
        ping(
            unit,
            start + timedelta(seconds=s),
            lng0 + east_m_s * s / M_LNG,
            lat0 + north_m_s * s / M_LAT,
        )
        for s in range(0, seconds + 1, every)
    ]


@pytest.fixture
def grid(world):
    return make_grid(world)


def passes(area):
    return list(PatrolPass.objects.filter(area=area).order_by("entered_at"))


def test_drive_through_at_40_kmh_is_one_pass(world, grid):
    # Given a car driving east along the key segment at 40 km/h, pinging every 30 s
    speed = 40 / 3.6
    items = drive("XL01", at(8, 0), BASE_LNG - 0.005, SEGMENT_LAT + 0.00003, east_m_s=speed)
    assert all(r.status == "accepted" and not r.flag for r in ingest(world, items))
    # When the day's passes are computed
    assert passes_compute(world.station_a1, DAY, now=LATER) == 1
    # Then it is one pass, about as long as the drive along the segment (385 m ÷ 11 m/s)
    (only,) = passes(grid["segment"])
    assert only.source == PassSource.GPS and only.unit_code == "XL01"
    assert 25 <= (only.left_at - only.entered_at).total_seconds() <= 50


def test_crossing_with_no_ping_inside_the_buffer_is_caught(world, grid):
    # A car crossing the segment north at 40 km/h: its pings fall ~170 m either side of the
    # line, none within 30 m; the straight line between them crosses it.
    items = drive(
        "XL02", at(9, 0), BASE_LNG + 0.002, SEGMENT_LAT - 0.0015, north_m_s=40 / 3.6, seconds=60
    )
    lats = [i["lat"] for i in items]
    assert min(abs(lat - SEGMENT_LAT) * M_LAT for lat in lats) > 30
    ingest(world, items)
    passes_compute(world.station_a1, DAY, now=LATER)
    assert len(passes(grid["segment"])) == 1


def test_parked_car_with_jitter_is_one_pass_with_a_dwell_stop(world, grid):
    # Given a car parked 10 m from the segment for 30 minutes, its GPS wandering 15–40 m
    rng = random.Random(16)
    items = []
    for k in range(61):
        radius, angle = rng.uniform(15, 40), rng.uniform(0, 2 * math.pi)
        items.append(
            ping(
                "XL03",
                at(10, 0) + timedelta(seconds=30 * k),
                BASE_LNG + 0.002 + radius * math.cos(angle) / M_LNG,
                SEGMENT_LAT + (10 + radius * math.sin(angle)) / M_LAT,
            )
        )
    ingest(world, items)
    passes_compute(world.station_a1, DAY, now=LATER)
    # Then one pass, whose time inside counts as a dwell stop (≥ 10 minutes)
    (only,) = passes(grid["segment"])
    assert only.dwell_seconds >= 10 * 60
    assert (only.left_at - only.entered_at) >= timedelta(minutes=25)


def test_out_of_order_pings_give_the_same_passes(world, grid):
    items = drive("XL04", at(8, 0), BASE_LNG - 0.005, SEGMENT_LAT, east_m_s=40 / 3.6)
    items += drive("XL04", at(8, 20), BASE_LNG + 0.009, SEGMENT_LAT, east_m_s=-40 / 3.6)
    ingest(world, items)
    passes_compute(world.station_a1, DAY, now=LATER)
    in_order = [(p.entered_at, p.left_at, p.dwell_seconds) for p in passes(grid["segment"])]
    PatrolPing.objects.all().delete()
    shuffled = items[:]
    random.Random(4).shuffle(shuffled)
    for lo in range(0, len(shuffled), 7):  # in several batches, each out of order
        ingest(world, shuffled[lo : lo + 7])
    assert not PatrolPing.objects.exclude(flag="").exists()
    passes_compute(world.station_a1, DAY, now=LATER)
    again = [(p.entered_at, p.left_at, p.dwell_seconds) for p in passes(grid["segment"])]
    assert len(in_order) == 2 and again == in_order


def test_duplicate_ping_is_stored_once(world, grid):
    item = ping("XL05", at(8, 0), BASE_LNG, BASE_LAT)
    first = ingest(world, [item, dict(item)])
    second = ingest(world, [item])
    assert [r.status for r in first] == ["accepted", "duplicate"]
    assert second[0].status == "duplicate" and second[0].code == "duplicate"
    assert PatrolPing.objects.filter(unit_code="XL05").count() == 1


def test_impossible_jump_is_flagged_speed_and_ignored(world, grid):
    # A unit idling 900 m north-east of the segment; one ping lands on the segment 30 s later
    far = (BASE_LNG + 0.018, BASE_LAT + 0.010)
    items = [
        ping("XL06", at(8, 0), *far),
        ping("XL06", at(8, 0, 30), BASE_LNG + 0.002, SEGMENT_LAT),
        ping("XL06", at(8, 1), *far),
    ]
    results = ingest(world, items)
    assert [r.flag for r in results] == ["", PingFlag.SPEED, ""]
    assert results[1].status == "accepted" and results[1].code == "speed"
    assert PatrolPing.objects.get(unit_code="XL06", at=at(8, 0, 30)).flag == PingFlag.SPEED
    passes_compute(world.station_a1, DAY, now=LATER)
    assert passes(grid["segment"]) == []


def test_speed_is_judged_against_stored_pings_too(world, grid):
    ingest(world, [ping("XL07", at(8, 0), BASE_LNG, BASE_LAT)])
    (result,) = ingest(world, [ping("XL07", at(8, 0, 10), BASE_LNG + 0.01, BASE_LAT)])
    assert result.flag == PingFlag.SPEED  # 960 m in 10 s


def test_outside_the_city_is_flagged(world, grid):
    results = ingest(
        world,
        [
            ping("XL08", at(8, 0), BASE_LNG + 0.001, BASE_LAT + 0.001),
            ping("XL08", at(8, 1), 121.47, 31.23),  # Shanghai, far outside the grid
        ],
    )
    assert [r.flag for r in results] == ["", PingFlag.OUTSIDE]


def test_outside_china_when_the_city_has_no_grid(world):
    results = ingest(
        world,
        [ping("XL09", at(8, 0), 120.5, 30.0), ping("XL09", at(9, 0), 2.35, 48.85)],
    )
    assert [r.flag for r in results] == ["", PingFlag.OUTSIDE]


def test_bad_items_are_rejected_with_codes_the_rest_kept(world, grid):
    results = ingest(
        world,
        [
            {"unit_code": "", "at": at(8).isoformat(), "lng": 120.58, "lat": 30.0},
            {"unit_code": "XL10", "at": "yesterday", "lng": 120.58, "lat": 30.0},
            {"unit_code": "XL10", "at": at(8).isoformat(), "lng": "east", "lat": 30.0},
            "not an object",
            ping("XL10", at(8, 5), 120.58, 30.0),
        ],
    )
    assert [r.code for r in results] == [
        "invalid_unit_code",
        "invalid_time",
        "invalid_position",
        "invalid_item",
        "",
    ]
    assert PatrolPing.objects.filter(unit_code="XL10").count() == 1


def test_a_gap_makes_those_hours_no_data(world, grid):
    # Given a unit far from the segment reporting 7:00–8:50, silent 20 minutes, back 9:10–10:00
    grid["segment"].key_hours = "7-10"
    grid["segment"].save()
    far = (BASE_LNG + 0.003, BASE_LAT + 0.010)
    items = drive("XL11", at(7, 0), *far, seconds=110 * 60)
    items += drive("XL11", at(9, 10), *far, seconds=50 * 60)
    ingest(world, items)
    passes_compute(world.station_a1, DAY, now=LATER)
    coverage = {
        timezone.localtime(c.hour).hour: c
        for c in PatrolCoverage.objects.filter(station=world.station_a1)
    }
    # Then the hours the gap touches have pings but no steady unit: no data, not failures
    assert coverage[7].units == 1
    assert coverage[8].units == 0 and coverage[8].pings > 0
    assert coverage[9].units == 0 and coverage[9].pings > 0
    assert coverage[12].units == 0 and coverage[12].pings == 0
    overview = patrol_overview(world.user("a1", "supervisor"), first=DAY, last=DAY)
    (segment,) = [c for c in overview["compliance"] if c.area == grid["segment"]]
    assert (segment.met, segment.failed, segment.no_data) == (0, 1, 2)  # 7 failed; 8, 9 no data


def test_checkin_counts_as_a_pass_and_merges_with_a_gps_pass(world, grid):
    segment = grid["segment"]
    ingest(world, drive("XL12", at(8, 0), BASE_LNG - 0.005, SEGMENT_LAT, east_m_s=40 / 3.6))
    PatrolCheckin.objects.create(area=segment, unit_code="XL12", at=at(8, 2))  # same pass
    PatrolCheckin.objects.create(area=segment, unit_code="XL13", at=at(15, 0))  # a pass alone
    passes_compute(world.station_a1, DAY, now=LATER)
    found = passes(segment)
    assert [(p.unit_code, p.source) for p in found] == [
        ("XL12", PassSource.GPS),
        ("XL13", PassSource.CHECKIN),
    ]
    # A check-in is coverage too: its hour is judged even without pings.
    overview_hours = {
        timezone.localtime(c.hour).hour: c.units
        for c in PatrolCoverage.objects.filter(station=world.station_a1)
    }
    assert overview_hours[15] == 0


def test_key_area_polygon_counts_a_pass(world, grid):
    area = make_area(
        world.station_a1,
        level=AreaLevel.GROUP,
        parent=grid["a1"],
        name="重点区域",
        geometry=square(BASE_LNG + 0.001, BASE_LAT + 0.0005, 0.001),
        is_key=True,
    )
    ingest(world, drive("XL14", at(8, 0), BASE_LNG, BASE_LAT + 0.001, east_m_s=5, seconds=900))
    passes_compute(world.station_a1, DAY, now=LATER)
    assert len(passes(area)) == 1


def test_recompute_replaces_the_days_passes(world, grid):
    ingest(world, drive("XL15", at(8, 0), BASE_LNG - 0.005, SEGMENT_LAT, east_m_s=40 / 3.6))
    passes_compute(world.station_a1, DAY, now=LATER)
    passes_compute(world.station_a1, DAY, now=LATER)
    assert len(passes(grid["segment"])) == 1
    assert PatrolCoverage.objects.filter(station=world.station_a1).count() == 24


def test_rules_of_the_nearest_unit_above_apply(world):
    assert patrol_rule_for(world.station_a1).pk is None  # the defaults
    assert patrol_rule_for(world.station_a1).buffer_m == 30
    PatrolRule.objects.create(bureau=world.city, buffer_m=50)
    PatrolRule.objects.create(bureau=world.district_a, buffer_m=40)
    assert patrol_rule_for(world.station_a1).buffer_m == 40
    assert patrol_rule_for(world.station_b1).buffer_m == 50


def test_key_hours():
    assert key_hours_parse("7-9,17-19") == [7, 8, 17, 18]
    assert key_hours_parse("22-2, 12") == [0, 1, 12, 22, 23]
    with pytest.raises(ApplicationError):
        key_hours_parse("7-x")
    with pytest.raises(ApplicationError):
        key_hours_parse("25")


def test_compliance_arithmetic(world, grid):
    segment, area = grid["segment"], grid["group"]
    segment.key_hours = "7-9"
    area.is_key = True
    rules = {world.station_a1.pk: PatrolRule()}  # 2 an hour, 5 a day

    def hour(day, h):
        return timezone.make_aware(datetime(2026, 11, day, h))

    rows = [(segment.pk, hour(24, 7) + timedelta(minutes=m)) for m in (5, 40)]  # met
    rows += [(segment.pk, hour(24, 8) + timedelta(minutes=10))]  # covered, 1 < 2: failed
    rows += [(segment.pk, hour(25, 7) + timedelta(minutes=m)) for m in (1, 2, 3)]  # met
    # 25th, hour 8: nothing and no coverage: no data
    rows += [(area.pk, hour(24, 10) + timedelta(minutes=m)) for m in range(5)]  # 5: met
    rows += [(area.pk, hour(25, 10) + timedelta(minutes=m)) for m in range(4)]  # 4: failed
    coverage = {(world.station_a1.pk, hour(24, h)): 1 for h in (7, 8)}
    coverage[(world.station_a1.pk, hour(25, 7))] = 1
    result = {
        c.area.pk: c
        for c in compliance_compute(
            areas=[segment, area],
            rules=rules,
            passes=rows,
            coverage=coverage,
            checkin_hours=set(),
            first=date(2026, 11, 24),
            last=date(2026, 11, 25),
            now=LATER,
        )
    }
    seg: AreaCompliance = result[segment.pk]
    assert (seg.met, seg.failed, seg.no_data, seg.judged) == (2, 1, 1, 3)
    assert seg.rate == pytest.approx(2 / 3)
    assert seg.by_hour[7] == 5 and seg.by_hour[8] == 1
    zone: AreaCompliance = result[area.pk]
    assert (zone.met, zone.failed, zone.no_data) == (1, 1, 0)
    assert zone.rate == 0.5

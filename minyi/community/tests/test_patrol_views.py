"""The patrol pages: compliance, heatmap data, flagged pings, rules, import and recompute,
each scoped to the user's subtree."""

from datetime import date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from minyi.community.models import PatrolPass, PatrolPing, PatrolRule
from minyi.community.patrol import passes_compute, pings_ingest
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, make_grid
from minyi.orgs.choices import Role
from minyi.polls.models import Indicator, Poll, PollEstimate

DAY = date(2026, 11, 24)
LATER = timezone.make_aware(datetime(2026, 12, 1, 12))
RANGE = "?start=2026-11-24&end=2026-11-24"


def _drive(world):
    start = timezone.make_aware(datetime(2026, 11, 24, 8))
    items = [
        {
            "unit_code": "XL31",
            "at": (start + timedelta(seconds=30 * k)).isoformat(),
            "lng": BASE_LNG - 0.005 + 0.00345 * k,
            "lat": BASE_LAT + 0.002,
        }
        for k in range(6)
    ]
    pings_ingest(station=world.station_a1, items=items, scope_unit=None)
    passes_compute(world.station_a1, DAY, now=LATER)


@pytest.fixture
def grid(world):
    return make_grid(world)


def test_patrol_page_shows_compliance_heatmap_and_poll(client, world, grid):
    _drive(world)
    poll = Poll.objects.create(
        title="2026 年第三季度民意测评",
        year=2026,
        wave=3,
        source="import",
        unit=world.city,
        fielded_from=DAY,
        fielded_to=DAY,
    )
    PollEstimate.objects.create(
        poll=poll,
        unit=world.station_a1,
        indicator=Indicator.SAW_POLICE,
        n=120,
        n_eff=100,
        rate=0.63,
        rule_version="t",
    )
    client.force_login(world.user("a1", Role.SUPERVISOR))
    response = client.get(reverse("community:patrol") + RANGE)
    page = response.content.decode()
    assert response.status_code == 200
    assert "解放路（甲一段）" in page and "chart-patrol-heatmap" in page
    assert "63%" in page and "2026 年第三季度民意测评" in page
    assert "<script>" not in page  # CSP: no inline script
    assert response.context["heatmap"]["cells"][8][2] == 1  # one pass at 08:00


def test_sibling_sees_nothing_of_another_station(client, world, grid):
    _drive(world)
    client.force_login(world.user("a2", Role.SUPERVISOR))
    page = client.get(reverse("community:patrol") + RANGE).content.decode()
    assert "解放路（甲一段）" not in page
    client.force_login(world.user("b1", Role.SUPERVISOR))
    response = client.get(reverse("community:patrol") + RANGE + f"&station={world.station_a1.pk}")
    assert "解放路（甲一段）" not in response.content.decode()


def test_flagged_list(client, world, grid):
    pings_ingest(
        station=world.station_a1,
        items=[
            {
                "unit_code": "XL32",
                "at": timezone.make_aware(datetime(2026, 11, 24, 9)).isoformat(),
                "lng": 121.47,
                "lat": 31.23,
            }
        ],
        scope_unit=None,
    )
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    assert "XL32" in client.get(reverse("community:patrol_flagged") + RANGE).content.decode()
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    assert "XL32" not in client.get(reverse("community:patrol_flagged") + RANGE).content.decode()


def test_rules_page_saves_the_units_rule(client, world):
    client.force_login(world.user("a", Role.SUPERVISOR))
    url = reverse("community:patrol_rules") + f"?unit={world.district_a.pk}"
    data = {
        "buffer_m": 40,
        "min_gap_minutes": 5,
        "max_speed_kmh": 120,
        "no_data_minutes": 5,
        "segment_passes_per_hour": 3,
        "area_passes_per_day": 5,
        "dwell_minutes": 10,
        "key_hours": "7-9",
    }
    assert client.post(url, data).status_code == 302
    rule = PatrolRule.objects.get(bureau=world.district_a)
    assert (rule.buffer_m, rule.segment_passes_per_hour) == (40, 3)
    assert client.post(url, {**data, "key_hours": "7-x"}).status_code == 400
    # A unit outside the subtree is not found
    client.force_login(world.user("b", Role.SUPERVISOR))
    assert client.get(url).status_code == 404


def test_import_file_of_pings(client, world, grid):
    client.force_login(world.user("a1", Role.SUPERVISOR))
    csv = (
        "巡逻单元,时间,经度,纬度\n"
        "XL33,2026-11-24 08:00:00,120.58,30.002\n"
        "XL33,2026-11-24 08:00:30,120.5835,30.002\n"
        "XL33,2026-11-24 08:00:30,120.5835,30.002\n"
        "XL33,2026-11-24 08:01:00,121.47,31.23\n"
    ).encode()
    response = client.post(
        reverse("community:patrol_import"),
        {"station": world.station_a1.pk, "file": SimpleUploadedFile("p.csv", csv)},
    )
    assert response.status_code == 200
    assert response.context["summary"] == {"accepted": 2, "duplicate": 1, "outside": 1}
    assert PatrolPing.objects.filter(unit_code="XL33").count() == 3
    bad = b"unit_code,at,lng,lat\nXL34,not a time,120.58,30.0\n"
    response = client.post(
        reverse("community:patrol_import"),
        {"station": world.station_a1.pk, "file": SimpleUploadedFile("p.csv", bad)},
    )
    assert response.status_code == 400 and not PatrolPing.objects.filter(unit_code="XL34")
    # Another station of the city cannot be chosen
    response = client.post(
        reverse("community:patrol_import"),
        {"station": world.station_a2.pk, "file": SimpleUploadedFile("p.csv", csv)},
    )
    assert response.status_code == 400


def test_recompute_button(client, world, grid):
    _drive(world)
    PatrolPass.objects.all().delete()
    client.force_login(world.user("a1", Role.SUPERVISOR))
    response = client.post(
        reverse("community:patrol_recompute"), {"start": "2026-11-24", "end": "2026-11-24"}
    )
    assert response.status_code == 302
    assert PatrolPass.objects.filter(area=grid["segment"]).count() == 1
    # Views only: a unit leader may look but not recompute
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    assert client.post(reverse("community:patrol_recompute")).status_code == 403

"""The patrol ingest API (巡逻定位、打卡接入): integration keys scoped to their subtree."""

from datetime import datetime

import pytest
from django.utils import timezone

from minyi.community.models import PatrolCheckin, PatrolPing
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, make_grid
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

PINGS, CHECKINS = "/api/v1/community/pings", "/api/v1/community/checkins"


def _key(world, unit_key):
    _, plaintext = apikey_create(
        actor=world.user("city", Role.ADMIN), name="巡逻定位系统", unit=getattr(world, unit_key)
    )
    return plaintext


def _post(client, url, key, body):
    return client.post(url, body, content_type="application/json", HTTP_X_API_KEY=key)


def _at(minute):
    return timezone.make_aware(datetime(2026, 11, 24, 8, minute)).isoformat()


@pytest.fixture
def grid(world):
    return make_grid(world)


def _pings(n, unit="XL21"):
    return [
        {"unit_code": unit, "at": _at(m), "lng": BASE_LNG + 0.0001 * m, "lat": BASE_LAT}
        for m in range(n)
    ]


def test_pings_batch_with_codes_per_item(client, world, grid):
    key = _key(world, "station_a1")
    body = {"station": world.station_a1.code, "pings": [*_pings(3), _pings(1)[0], {"at": "x"}]}
    response = _post(client, PINGS, key, body)
    assert response.status_code == 207
    data = response.json()
    assert (data["accepted"], data["duplicates"], data["rejected"]) == (3, 1, 1)
    assert [i["code"] for i in data["items"]][3:] == ["duplicate", "invalid_unit_code"]
    assert PatrolPing.objects.filter(station=world.station_a1).count() == 3


def test_a_stations_key_cannot_post_for_another(client, world, grid):
    key = _key(world, "station_a1")
    response = _post(client, PINGS, key, {"station": world.station_a2.code, "pings": _pings(2)})
    assert response.status_code == 403
    assert response.json()["code"] == "station_out_of_scope"
    assert not PatrolPing.objects.exists()


def test_a_district_key_posts_for_its_stations(client, world, grid):
    key = _key(world, "district_a")
    response = _post(client, PINGS, key, {"station": world.station_a2.code, "pings": _pings(2)})
    assert response.status_code == 200
    response = _post(client, PINGS, key, {"station": world.station_b1.code, "pings": _pings(2)})
    assert response.status_code == 403


def test_flags_are_answered(client, world, grid):
    key = _key(world, "station_a1")
    pings = [*_pings(1), {"unit_code": "XL21", "at": _at(5), "lng": 121.47, "lat": 31.23}]
    data = _post(client, PINGS, key, {"station": world.station_a1.code, "pings": pings}).json()
    assert data["flagged"] == 1 and data["items"][1]["flag"] == "outside"


def test_malformed_and_oversized_batches(client, world, grid):
    key = _key(world, "station_a1")
    assert _post(client, PINGS, key, {"pings": "no"}).json()["code"] == "malformed_batch"
    big = {"station": world.station_a1.code, "pings": _pings(1) * 5001}
    assert _post(client, PINGS, key, big).status_code == 413
    assert client.post(PINGS, {}, content_type="application/json").status_code == 401


def test_checkins_scoped_to_the_key(client, world, grid):
    key = _key(world, "station_a2")
    checkin = {"area": "C-A1-R1", "unit_code": "XL22", "at": _at(3)}
    response = _post(client, CHECKINS, key, {"checkins": [checkin]})
    assert response.status_code == 422
    assert response.json()["items"][0]["code"] == "unknown_area"  # a1's segment: not a2's
    key = _key(world, "station_a1")
    data = _post(client, CHECKINS, key, {"checkins": [checkin, checkin]}).json()
    assert [i["status"] for i in data["items"]] == ["accepted", "duplicate"]
    again = _post(client, CHECKINS, key, {"checkins": [checkin]}).json()
    assert again["duplicates"] == 1
    not_key = {"area": "C-A1", "unit_code": "XL22", "at": _at(3)}
    assert (
        _post(client, CHECKINS, key, {"checkins": [not_key]}).json()["items"][0]["code"]
        == "not_key_area"
    )
    assert PatrolCheckin.objects.count() == 1

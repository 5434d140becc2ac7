"""Incidents (警情): the file import (each bad input refused with its row), the API (batches,
idempotency, per-item errors, the key's scope) and an area's incident page (counts for every
grid viewer, exact times and places only with INCIDENT_LOCATION), scoped."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from minyi.community.incidents import COLUMNS, incidents_import, incidents_ingest
from minyi.community.models import Incident
from minyi.community.tests.factories import make_grid
from minyi.core.imports import table_read
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
HEADER = "警情编号,类别,发生时间,网格编码,经度,纬度\n"
API = "/api/v1/community/incidents"


@pytest.fixture
def grid(world):
    return make_grid(world)


def _table(text: str):
    return table_read(text.encode("utf-8"), columns=COLUMNS)


# --- The file import ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_stores_each_incident_in_its_community(world, grid):
    text = HEADER + (
        "J001,盗窃,2026-11-02 21:30,C-A1-G1-B1,120.581,30.001\n"
        "J002,fraud,2026-11-03 09:00,C-A1-R1,,\n"
        "J003,入室盗窃,2026/11/04 10:15,C-A2,,\n"
    )
    report = incidents_import(actor=world.user("a", Role.SUPERVISOR), table=_table(text), now=NOW)
    assert report.stored, report.errors
    j1 = Incident.objects.get(external_id="J001")
    assert j1.area == grid["building"] and j1.community == grid["a1"]
    assert j1.category == "theft" and j1.lng == pytest.approx(120.581) and j1.source == "file"
    assert Incident.objects.get(external_id="J002").community == grid["a1"]
    assert Incident.objects.get(external_id="J003").community == grid["a2"]
    # Again: duplicates, nothing new
    again = incidents_import(actor=world.user("a", Role.SUPERVISOR), table=_table(text), now=NOW)
    assert again.stored and {r["status"] for r in again.results} == {"duplicate"}
    assert Incident.objects.count() == 3


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("J9,盗窃,2026-11-02 21:30,NO-SUCH,,", "unknown_area", "area_code"),
        ("J9,盗窃,2026-11-02 21:30,C-B1,,", "area_out_of_scope", "area_code"),
        ("J9,偷东西,2026-11-02 21:30,C-A1,,", "invalid_category", "category"),
        ("J9,盗窃,2026-11-02,C-A1,,", "invalid_time", "occurred_at"),
        ("J9,盗窃,昨天,C-A1,,", "invalid_time", "occurred_at"),
        ("J9,盗窃,2026-12-25 10:00,C-A1,,", "occurred_in_future", "occurred_at"),
        ("J9,盗窃,2026-11-02 21:30,C-A1,120.58,", "incomplete_location", "lng"),
        ("J9,盗窃,2026-11-02 21:30,C-A1,30.0,120.58", "location_outside_china", "lng"),
        ("J9,盗窃,2026-11-02 21:30,C-A1,東經,30", "invalid_number", "lng"),
        (",盗窃,2026-11-02 21:30,C-A1,,", "external_id_required", "external_id"),
        ("J9,盗窃,2026-11-02 21:30,C-A1,,,extra", "cell_count", ""),
    ],
)
@pytest.mark.django_db
def test_import_refuses_each_bad_row_naming_it(world, grid, row, code, column):
    # Given a good row, then a bad one (row 3)
    text = HEADER + "J1,盗窃,2026-11-02 21:30,C-A1,,\n" + row + "\n"
    report = incidents_import(actor=world.user("a", Role.SUPERVISOR), table=_table(text), now=NOW)
    assert not report.stored
    assert [(e.row, e.code, e.column) for e in report.errors] == [(3, code, column)]
    assert Incident.objects.count() == 0  # all or nothing: fix the row, upload again


@pytest.mark.django_db
def test_unknown_area_message_names_the_code(world, grid):
    text = HEADER + "J1,盗窃,2026-11-02 21:30,X-99,,\n"
    report = incidents_import(actor=world.user("a", Role.SUPERVISOR), table=_table(text), now=NOW)
    assert "X-99" in report.errors[0].message and report.errors[0].row == 2


@pytest.mark.django_db
def test_import_page(client, world, grid):
    client.force_login(world.user("a2", Role.SUPERVISOR))
    url = reverse("community:incident_import")
    good = SimpleUploadedFile("i.csv", (HEADER + "J1,盗窃,2026-11-02 21:30,C-A2,,\n").encode())
    response = client.post(url, {"file": good})
    assert response.status_code == 200 and Incident.objects.count() == 1
    # a1's building is outside station a2: refused, nothing stored
    bad = SimpleUploadedFile(
        "i.csv",
        (HEADER + "J2,盗窃,2026-11-02 21:30,C-A2,,\nJ3,盗窃,2026-11-02 21:30,C-A1,,\n").encode(),
    )
    response = client.post(url, {"file": bad})
    assert response.status_code == 400
    assert "C-A1" in response.content.decode() and Incident.objects.count() == 1
    missing = SimpleUploadedFile("i.csv", "警情编号,类别\nJ4,盗窃\n".encode())
    assert "缺少列" in client.post(url, {"file": missing}).content.decode()


# --- The API --------------------------------------------------------------------------------------


def _key(world, unit):
    return apikey_create(actor=world.user("city", Role.ADMIN), name="警情系统", unit=unit)[1]


def _item(external_id="A1", area="C-A2", **extra):
    return {
        "source": "110jcj",
        "external_id": external_id,
        "category": "盗窃",
        "occurred_at": "2026-11-02T21:30:00+08:00",
        "area": area,
        **extra,
    }


def _post(client, key, items):
    return client.post(
        API, {"incidents": items}, content_type="application/json", headers={"X-API-Key": key}
    )


@pytest.mark.django_db
def test_api_ingest_is_idempotent(client, world, grid):
    key = _key(world, world.station_a2)
    first = _post(client, key, [_item(lng=120.59, lat=30.001)])
    assert first.status_code == 200
    body = first.json()
    assert body["accepted"] == 1 and body["items"][0]["status"] == "accepted"
    stored_id = body["items"][0]["id"]
    again = _post(client, key, [_item(), _item()])
    assert again.status_code == 200
    assert [i["status"] for i in again.json()["items"]] == ["duplicate", "duplicate"]
    assert {i["id"] for i in again.json()["items"]} == {stored_id}
    assert Incident.objects.count() == 1
    # A repeat inside one batch: one row, both answered with its id
    both = _post(client, key, [_item("B"), _item("B")]).json()["items"]
    assert [i["status"] for i in both] == ["accepted", "duplicate"]
    assert both[0]["id"] == both[1]["id"] and Incident.objects.count() == 2


@pytest.mark.django_db
def test_api_per_item_errors(client, world, grid):
    key = _key(world, world.city)
    items = [
        _item("ok", area="C-A1-G1-B1"),
        _item("e1", area="NOPE"),
        _item("e2", category="偷东西"),
        _item("e3", occurred_at="2027-06-01T00:00:00+08:00"),
        _item("e4", lng=10.0, lat=10.0),
        _item("e5", lng=120.5),
        _item("e6", occurred_at="2026-11-02T21:30:00"),  # no zone
        {"external_id": "e7"},
        "not an object",
    ]
    response = _post(client, key, items)
    assert response.status_code == 207
    codes = [i["code"] for i in response.json()["items"]]
    assert codes == [
        "",
        "unknown_area",
        "invalid_category",
        "occurred_in_future",
        "location_outside_china",
        "incomplete_location",
        "invalid_item",
        "invalid_item",
        "invalid_item",
    ]
    assert Incident.objects.count() == 1
    assert Incident.objects.get().community == grid["a1"]


@pytest.mark.django_db
def test_api_key_scope(client, world, grid):
    # A key of station a1 may not report for a2's community, nor learn of a2's incidents
    a2_key, a1_key = _key(world, world.station_a2), _key(world, world.station_a1)
    _post(client, a2_key, [_item("X")])
    response = _post(client, a1_key, [_item("X"), _item("Y")])
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["items"]] == ["area_out_of_scope"] * 2
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_api_refuses_bad_batches(client, world, grid):
    key = _key(world, world.station_a2)
    assert _post(client, "mk_bad_key", [_item()]).status_code == 401
    assert (
        client.post(API, {"incidents": [_item()]}, content_type="application/json").status_code
        == 401
    )
    assert _post(client, key, []).json()["code"] == "empty_batch"
    too_many = _post(client, key, [_item(str(i)) for i in range(1001)])
    assert too_many.status_code == 413 and too_many.json()["code"] == "batch_too_large"
    malformed = client.post(
        API, "[1,2", content_type="application/json", headers={"X-API-Key": key}
    )
    assert malformed.status_code == 422 and malformed.json()["code"] == "malformed_batch"


@pytest.mark.django_db
def test_ingest_batch_limit_in_the_service(world):
    from minyi.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        incidents_ingest(items=[{}] * 1001, scope_unit=None)


# --- An area's incidents -----------------------------------------------------------------------


def _stored(world, grid):
    Incident.objects.all().delete()
    items = [
        _item("a2-1", lng=120.5912, lat=30.0013),
        _item("a2-2", category="诈骗", occurred_at="2026-10-05T08:00:00+08:00"),
        _item("a1-1", area="C-A1", lng=120.5811, lat=30.0011),
    ]
    incidents_ingest(
        items=[{**i, "occurred_at": datetime.fromisoformat(i["occurred_at"])} for i in items],
        scope_unit=world.city,
        now=NOW,
    )


@pytest.mark.django_db
def test_incident_page_shows_places_only_with_incident_location(client, world, grid):
    _stored(world, grid)
    url = reverse("community:incident_list", args=[grid["a2"].pk]) + "?month=2026-11"
    # A unit leader (INCIDENT_LOCATION) sees the exact incidents
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    body = client.get(url).content.decode()
    assert "a2-1" in body and "120.5912" in body and "2026-11-02 21:30" in body
    assert "a1-1" not in body and "120.5811" not in body
    # An administrator (grid, no INCIDENT_LOCATION) sees counts only
    client.force_login(world.user("a2", Role.ADMIN))
    session = client.session
    from django_otp import DEVICE_ID_SESSION_KEY

    session[DEVICE_ID_SESSION_KEY] = world.user("a2", Role.ADMIN).totpdevice_set.get().persistent_id
    session.save()
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "a2-1" not in body and "120.5912" not in body and "21:30" not in body
    assert 'data-testid="incident-total">2<' in body
    assert "incident-points-hidden" in body


@pytest.mark.django_db
def test_incident_page_is_scoped(client, world, grid):
    _stored(world, grid)
    client.force_login(world.user("b1", Role.SUPERVISOR))
    assert client.get(reverse("community:incident_list", args=[grid["a2"].pk])).status_code == 404
    client.force_login(world.user("a1", Role.SUPERVISOR))
    assert client.get(reverse("community:incident_list", args=[grid["a2"].pk])).status_code == 404
    # A group's page counts its buildings
    incidents_ingest(
        items=[
            {**_item("bld", area="C-A1-G1-B1"), "occurred_at": datetime(2026, 11, 1, tzinfo=UTC)}
        ],
        scope_unit=None,
        now=NOW,
    )
    body = client.get(
        reverse("community:incident_list", args=[grid["group"].pk]) + "?month=2026-11"
    ).content.decode()
    assert 'data-testid="incident-total">1<' in body and "bld" in body


@pytest.mark.django_db
def test_below_community_without_incident_location_shows_the_communitys_counts(client, world, grid):
    """A building's counts by month and category give place, month and kind: an
    administrator (no INCIDENT_LOCATION) sees its community's counts instead, said so."""
    from django_otp import DEVICE_ID_SESSION_KEY

    _stored(world, grid)
    incidents_ingest(
        items=[
            {**_item("bld-1", area="C-A1-G1-B1"), "occurred_at": datetime(2026, 11, 1, tzinfo=UTC)},
            {**_item("c-1", area="C-A1"), "occurred_at": datetime(2026, 10, 1, tzinfo=UTC)},
        ],
        scope_unit=None,
        now=NOW,
    )
    url = reverse("community:incident_list", args=[grid["building"].pk]) + "?month=2026-11"
    admin = world.user("a1", Role.ADMIN)
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = admin.totpdevice_set.get().persistent_id
    session.save()
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    # a1-1, bld-1 and c-1: the community's three, not the building's one
    assert 'data-testid="incident-total">3<' in body
    assert "incident-counts-folded" in body and "甲一社区" in body
    assert "bld-1" not in body and "incident-points-hidden" in body
    # The same for a road segment and a resident group
    for area in (grid["segment"], grid["group"]):
        body = client.get(
            reverse("community:incident_list", args=[area.pk]) + "?month=2026-11"
        ).content.decode()
        assert 'data-testid="incident-total">3<' in body and "incident-counts-folded" in body
    # A unit leader (INCIDENT_LOCATION) sees the building's own count, as before
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    body = client.get(url).content.decode()
    assert 'data-testid="incident-total">1<' in body and "bld-1" in body
    assert "incident-counts-folded" not in body

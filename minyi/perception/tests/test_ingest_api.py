"""POST /api/v1/events: idempotent, per-item answers, scoped keys, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.perception.models import SatisfactionDaily, ServiceEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"


@pytest.fixture
def key(world, btypes):
    _, plaintext = apikey_create(
        actor=world.user("a", Role.ADMIN), name="110 接处警", unit=world.district_a
    )
    return plaintext


def _event(world, n, **over):
    item = {
        "source": "jcj",
        "external_id": f"J{n}",
        "business_type": "jcj_110",
        "unit": world.station_a1.code,
        "officers": [world.officers["a1"].police_number],
        "citizen_mobile": "13800001111",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    item.update(over)
    return item


def _post(client, key, body):
    return client.post(URL, body, content_type="application/json", HTTP_X_API_KEY=key)


def test_batch_is_idempotent(client, world, key):
    body = {"events": [_event(world, i) for i in range(3)]}
    first = _post(client, key, body)
    assert first.status_code == 200
    assert first.json()["accepted"] == 3
    again = _post(client, key, body)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 3
    assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in first.json()["items"]]
    assert ServiceEvent.objects.count() == 3
    assert SatisfactionDaily.objects.get().events == 3
    assert ServiceEvent.objects.get(external_id="J0").officers.get() == world.officers["a1"]


def test_valid_items_are_kept_beside_rejected_ones(client, world, key):
    body = {
        "events": [
            _event(world, 1),
            _event(world, 2, business_type="nope"),
            _event(world, 3, unit="XXXX"),
            _event(world, 4, citizen_mobile="12345"),
            _event(world, 5, unit=world.station_b1.code),  # another district: not this key's
            _event(world, 6, occurred_at="not a date"),
            _event(world, 7, officers=["000000"]),
            _event(world, 1),  # the same key twice in one batch
            "not an object",
        ]
    }
    response = _post(client, key, body)
    assert response.status_code == 207
    codes = [(i["status"], i["code"]) for i in response.json()["items"]]
    assert codes == [
        ("accepted", ""),
        ("rejected", "unknown_business_type"),
        ("rejected", "unknown_unit"),
        ("rejected", "invalid_mobile"),
        ("rejected", "unit_out_of_scope"),
        ("rejected", "invalid_item"),
        ("rejected", "unknown_officer"),
        ("duplicate", ""),
        ("rejected", "invalid_item"),
    ]
    assert ServiceEvent.objects.count() == 1


def test_all_rejected_is_422(client, world, key):
    response = _post(client, key, {"events": [_event(world, 1, business_type="nope")]})
    assert response.status_code == 422
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 422, "malformed_batch"),
        ({"events": "x"}, 422, "malformed_batch"),
        ([], 422, "malformed_batch"),
        ({"events": []}, 422, "empty_batch"),
    ],
)
def test_malformed_batches(client, key, body, status, code):
    response = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == status
    assert response.json()["code"] == code


def test_oversized_batch_is_413_and_nothing_written(client, world, key):
    response = _post(client, key, {"events": [_event(world, i) for i in range(5001)]})
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert not ServiceEvent.objects.exists()


@pytest.mark.parametrize("header", [None, "", "mk_nope_nope", "garbage"])
def test_missing_or_wrong_key_is_401(client, world, key, header):
    extra = {} if header is None else {"HTTP_X_API_KEY": header}
    response = client.post(
        URL, {"events": [_event(world, 1)]}, content_type="application/json", **extra
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_revoked_key_is_401(client, world, key):
    from minyi.orgs.models import ApiKey

    ApiKey.objects.update(revoked_at=timezone.now())
    assert _post(client, key, {"events": [_event(world, 1)]}).status_code == 401


def test_staff_session_cannot_ingest(client, world, key):
    client.force_login(world.user("a", Role.SUPERVISOR))
    response = client.post(URL, {"events": [_event(world, 1)]}, content_type="application/json")
    assert response.status_code == 401


def test_body_over_the_limit_is_a_json_413(client, world, key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _post(client, key, {"events": [_event(world, i) for i in range(20)]})
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_days_and_units_do_not_fail(world, key):
    # Two integrating systems posting overlapping batches at once (this deadlocked on
    # PostgreSQL when rollup rows were locked in arrival order).
    import threading

    from django.db import connection
    from django.test import Client

    batches = [
        [
            _event(
                world,
                f"{t}-{i}",
                source=f"s{t}",
                unit=[world.station_a1.code, world.station_a2.code][(i + t) % 2],
            )
            for i in range(200)
        ]
        for t in range(2)
    ]
    statuses = []

    def post(batch):
        statuses.append(_post(Client(), key, {"events": batch}).status_code)
        connection.close()

    threads = [threading.Thread(target=post, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert sum(SatisfactionDaily.objects.values_list("events", flat=True)) == 400


def test_invalid_unicode_and_nul_are_rejected_per_item_not_a_500(client, world, key):
    body = (
        '{"events": [{"source": "s", "external_id": "\\ud800x", "business_type": "b", '
        '"unit": "u", "occurred_at": "2026-11-24T09:00:00+08:00"}, '
        '{"source": "s\\u0000", "external_id": "ok", "business_type": "b", '
        '"unit": "u", "occurred_at": "2026-11-24T09:00:00+08:00"}]}'
    )
    response = client.post(URL, body, content_type="application/json", HTTP_X_API_KEY=key)
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["items"]] == ["invalid_item", "invalid_item"]
    assert response.json()["items"][0]["external_id"] == "\ufffdx"


@pytest.mark.parametrize("mobile", ["1381234000١", "١٣٨١٢٣٤٥٦٧٨", "१३८१२३४५६७८"])
def test_a_mobile_in_another_scripts_digits_is_rejected(client, world, key, mobile):
    # Issue 12: only ASCII digits (after full-width ones are read as ASCII) make a mobile
    body = {"events": [_event(world, 1, citizen_mobile=mobile), _event(world, 2)]}
    response = _post(client, key, body)
    codes = [(i["status"], i["code"]) for i in response.json()["items"]]
    assert codes == [("rejected", "invalid_mobile"), ("accepted", "")]
    full_width = _post(
        client, key, {"events": [_event(world, 3, citizen_mobile="１３８００００１１１１")]}
    )
    assert full_width.json()["accepted"] == 1
    assert ServiceEvent.objects.get(external_id="J3").citizen_mobile == "13800001111"

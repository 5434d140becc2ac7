"""POST /api/v1/events at full size (issue 18): set-based inserts without model instances, the
same answers item by item. On PostgreSQL a batch of COPY_FROM or more events takes the COPY
path and a smaller one the VALUES path; sizes here cover both (and SQLite's chunking)."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from minyi.core.batches import BatchOut
from minyi.core.pii import mobile_hash
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.perception.models import SatisfactionDaily, ServiceEvent
from minyi.perception.services import ingest
from minyi.perception.services.daily import rollup_key
from minyi.perception.services.ingest import COPY_FROM, MAX_BATCH, events_ingest

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"
PG_ONLY = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="lock waits between requests: PostgreSQL only"
)


@pytest.fixture
def key(world, btypes):
    _, plaintext = apikey_create(
        actor=world.user("a", Role.ADMIN), name="110 接处警", unit=world.district_a
    )
    return plaintext


def _events(world, n, *, tag="E", start=0):
    """`n` valid events for the 甲 district: two stations, officers from both, three days,
    mobiles in the spellings gateways send (some repeated, some missing)."""
    now = timezone.now()
    officers = [world.officers["a1"].police_number, world.officers["a2"].police_number]
    items = []
    for i in range(start, start + n):
        mobile = f"138{i % 997:08d}"
        items.append(
            {
                "source": "jcj" if i % 3 else "hzxt",
                "external_id": f"{tag}{i:05d}",
                "business_type": ("jcj_110", "hukou")[i % 2],
                "unit": (world.station_a1.code, world.station_a2.code)[i % 2],
                "officers": officers[: 1 + i % 2],
                "citizen_mobile": ("", mobile, f"+86 {mobile}", mobile)[i % 4],
                "occurred_at": (now - timedelta(hours=1 + i % 70)).isoformat(),
            }
        )
    return items


def _post(client, key, events):
    response = client.post(
        URL, {"events": events}, content_type="application/json", HTTP_X_API_KEY=key
    )
    assert response.status_code < 500, response.content[:500]
    BatchOut.model_validate(response.json())  # the documented shape, rendered by hand
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response


def _assert_stored_as_sent(world, events, answer_items):
    """Every accepted item's row holds what was sent: unit, type, time, mobile (decrypted
    through the model) and its hash, officers; and the rollup counts exactly these rows."""
    by_id = {
        e.pk: e
        for e in ServiceEvent.objects.select_related("unit", "business_type").prefetch_related(
            "officers"
        )
    }
    for sent, answer in zip(events, answer_items, strict=True):
        if answer["status"] != "accepted":
            continue
        row = by_id[answer["id"]]
        assert (row.source, row.external_id) == (sent["source"], sent["external_id"])
        assert (row.unit.code, row.business_type.code) == (sent["unit"], sent["business_type"])
        assert row.occurred_at.isoformat() == sent["occurred_at"]
        expected_mobile = sent["citizen_mobile"].replace("+86 ", "")
        assert row.citizen_mobile == expected_mobile
        assert row.citizen_mobile_hash == (mobile_hash(expected_mobile) if expected_mobile else "")
        assert sorted(o.police_number for o in row.officers.all()) == sorted(set(sent["officers"]))
    rollup = {
        (r.day, r.unit_id, r.business_type_id): r.events for r in SatisfactionDaily.objects.all()
    }
    assert rollup == dict(Counter(rollup_key(e) for e in by_id.values()))


def test_one_malformed_event_among_5000_keeps_the_other_4999(client, world, key):
    # Given a full batch with one item that is not an event at all
    events = _events(world, MAX_BATCH)
    events[2500] = {**events[2500], "occurred_at": "yesterday"}
    # When it is posted
    response = _post(client, key, events)
    # Then that item alone is rejected, with its field named, and the rest are stored
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (4999, 0, 1)
    bad = body["items"][2500]
    assert (bad["status"], bad["code"], bad["external_id"]) == (
        "rejected",
        "invalid_item",
        "E02500",
    )
    assert bad["message"].startswith("occurred_at: ")
    assert [i["index"] for i in body["items"]] == list(range(MAX_BATCH))
    assert ServiceEvent.objects.count() == 4999
    assert len({i["id"] for i in body["items"] if i["status"] == "accepted"}) == 4999
    assert ServiceEvent.officers.through.objects.count() == sum(
        len(e["officers"]) for n, e in enumerate(events) if n != 2500
    )
    _assert_stored_as_sent(world, events, body["items"])


def test_rejections_inside_a_full_batch_are_reported_item_by_item(client, world, key):
    events = _events(world, MAX_BATCH)
    events[0] = {**events[0], "unit": "XXXX"}
    events[17] = {**events[17], "unit": world.station_b1.code}
    events[999] = {**events[999], "business_type": "nope"}
    events[1000] = {**events[1000], "officers": [world.officers["b1"].police_number]}
    events[2001] = {**events[2001], "citizen_mobile": "12345"}
    events[3000] = {
        **events[3000],
        "occurred_at": (timezone.now() + timedelta(days=1)).isoformat(),
    }
    events[4000] = "not an object"
    events[4998] = dict(events[5])  # the same key again, later in the batch
    response = _post(client, key, events)
    assert response.status_code == 207
    items = response.json()["items"]
    odd = {n: (items[n]["status"], items[n]["code"]) for n in range(MAX_BATCH)}
    odd = {n: v for n, v in odd.items() if v != ("accepted", "")}
    assert odd == {
        0: ("rejected", "unknown_unit"),
        17: ("rejected", "unit_out_of_scope"),
        999: ("rejected", "unknown_business_type"),
        1000: ("rejected", "unknown_officer"),
        2001: ("rejected", "invalid_mobile"),
        3000: ("rejected", "occurred_in_future"),
        4000: ("rejected", "invalid_item"),
        4998: ("duplicate", ""),
    }
    assert items[4000]["message"].startswith("Input should be a valid dictionary")
    # The repeat in the same batch points at the row its first occurrence made.
    assert items[4998]["id"] == items[5]["id"] is not None
    assert ServiceEvent.objects.count() == MAX_BATCH - 8
    _assert_stored_as_sent(world, events, items)


@pytest.mark.parametrize("size", [3, COPY_FROM + 20])
def test_a_batch_sent_again_is_all_duplicates_with_the_stored_ids(client, world, key, size):
    events = _events(world, size)
    first = _post(client, key, events).json()
    # Sent again with new events among the old ones: the old ones are duplicates, each with
    # the id it was given the first time; the new ones are stored; nothing is counted twice.
    again = _events(world, 5, tag="N") + events
    second = _post(client, key, again).json()
    assert (second["accepted"], second["duplicates"], second["rejected"]) == (5, size, 0)
    assert [i["id"] for i in second["items"][5:]] == [i["id"] for i in first["items"]]
    assert ServiceEvent.objects.count() == size + 5
    assert sum(SatisfactionDaily.objects.values_list("events", flat=True)) == size + 5
    _assert_stored_as_sent(world, again, second["items"])


@pytest.mark.parametrize("size", [4, COPY_FROM + 1])
def test_the_same_key_twice_in_one_batch_is_stored_once(client, world, key, size):
    events = _events(world, size)
    events.append({**events[1], "officers": []})  # the repeat may differ: the first one counts
    body = _post(client, key, events).json()
    assert body["items"][-1]["status"] == "duplicate"
    assert body["items"][-1]["id"] == body["items"][1]["id"]
    assert ServiceEvent.objects.count() == size
    assert ServiceEvent.objects.get(pk=body["items"][1]["id"]).officers.count() == 2


def test_an_officer_sent_twice_is_linked_once(client, world, key):
    number = world.officers["a1"].police_number
    events = _events(world, 2)
    events[0]["officers"] = [number, number]
    body = _post(client, key, events).json()
    assert body["accepted"] == 2
    event = ServiceEvent.objects.get(pk=body["items"][0]["id"])
    assert list(event.officers.values_list("police_number", flat=True)) == [number]


@pytest.mark.parametrize("size", [1, COPY_FROM])
def test_the_mobile_is_stored_encrypted_and_decrypts_through_the_model(world, btypes, size):
    items = _events(world, size, start=1)  # start=1: the first has a mobile
    for item in items:
        item["occurred_at"] = timezone.now() - timedelta(hours=1)
    [result, *_rest] = events_ingest(items=items, scope_unit=None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT citizen_mobile FROM {ServiceEvent._meta.db_table} WHERE id = %s",  # noqa: S608
            [result.id],
        )
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("gAAAAA") and "13800000001" not in stored  # a Fernet token
    event = ServiceEvent.objects.get(pk=result.id)
    assert event.citizen_mobile == "13800000001"
    assert event.citizen_mobile_hash == mobile_hash("13800000001")


def _without_the_first_lookup(monkeypatch):
    """As if another request stored the keys between this one's lookup and its insert: the
    first lookup finds nothing, so the insert itself meets the stored rows."""
    original, calls = ingest._events_stored, []

    def lookup(keys):
        calls.append(len(keys))
        return {} if len(calls) == 1 else original(keys)

    monkeypatch.setattr(ingest, "_events_stored", lookup)


@pytest.mark.parametrize("size", [3, COPY_FROM])
def test_keys_stored_meanwhile_are_duplicates_not_errors(world, btypes, monkeypatch, size):
    items = _events(world, size)
    for item in items:
        item["occurred_at"] = timezone.now() - timedelta(hours=1)
    stored = events_ingest(items=items[:2], scope_unit=None)
    _without_the_first_lookup(monkeypatch)
    results = events_ingest(items=items, scope_unit=world.district_a)
    assert [(r.status, r.id) for r in results[:2]] == [("duplicate", r.id) for r in stored]
    assert {r.status for r in results[2:]} == {"accepted"}
    assert ServiceEvent.objects.count() == size
    assert sum(SatisfactionDaily.objects.values_list("events", flat=True)) == size


def test_a_key_stored_meanwhile_for_another_scope_reveals_nothing(world, btypes, monkeypatch):
    item = _events(world, 1)[0]
    item["occurred_at"] = timezone.now() - timedelta(hours=1)
    other = {**item, "unit": world.station_b1.code, "officers": []}
    events_ingest(items=[other], scope_unit=None)
    _without_the_first_lookup(monkeypatch)
    [result] = events_ingest(items=[item], scope_unit=world.district_a)
    assert (result.status, result.code, result.id) == ("rejected", "unit_out_of_scope", None)
    assert ServiceEvent.objects.get().unit == world.station_b1


def test_two_large_batches_in_one_transaction(world, btypes):
    # The staging table of the first batch must not be in the second one's way.
    with transaction.atomic():
        for tag in ("A", "B"):
            items = _events(world, COPY_FROM, tag=tag)
            for item in items:
                item["occurred_at"] = timezone.now() - timedelta(hours=1)
            results = events_ingest(items=items, scope_unit=None)
            assert {r.status for r in results} == {"accepted"}
    assert ServiceEvent.objects.count() == 2 * COPY_FROM


# --- Two requests at once with the same keys (PostgreSQL: real lock waits) ----------------


def _post_in_thread(key, events, answers, name):
    def run():
        try:
            response = Client().post(
                URL, {"events": events}, content_type="application/json", HTTP_X_API_KEY=key
            )
            answers[name] = (response.status_code, response.json())
        finally:
            connection.close()

    return threading.Thread(target=run, name=name)


@PG_ONLY
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [5, COPY_FROM + 50])
def test_a_request_waiting_on_anothers_keys_answers_duplicates(world, key, monkeypatch, size):
    from minyi.workorders.tests.factories import pause_after, wait_until_blocked

    # Given request "first" has inserted its events and not yet committed
    events = _events(world, size)
    reached, release = pause_after(monkeypatch, ingest, "_insert_events", "first")
    answers: dict = {}
    first = _post_in_thread(key, events, answers, "first")
    first.start()
    assert reached.wait(timeout=30)
    # When "second" sends the same keys (and some of its own), in the opposite order
    second = _post_in_thread(
        key, [*reversed(events), *_events(world, 3, tag="S")], answers, "second"
    )
    second.start()
    wait_until_blocked(second)
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    # Then both answer 200, the second sees the shared keys as duplicates with the first's ids
    assert answers["first"][0] == answers["second"][0] == 200
    ids = {i["external_id"]: i["id"] for i in answers["first"][1]["items"]}
    late = answers["second"][1]["items"]
    assert [(i["status"], i["id"]) for i in late[:size]] == [
        ("duplicate", ids[e["external_id"]]) for e in reversed(events)
    ]
    assert {i["status"] for i in late[size:]} == {"accepted"}
    assert ServiceEvent.objects.count() == size + 3
    assert sum(SatisfactionDaily.objects.values_list("events", flat=True)) == size + 3


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_with_the_same_keys_in_any_order_never_fail(world, key):
    # Two systems re-sending the same 2,000 events at once, one in reverse order: each key is
    # stored once, whoever wins; the other answers duplicate with the same id; no deadlock.
    events = _events(world, 2000)
    answers: dict = {}
    threads = [
        _post_in_thread(key, events, answers, "forward"),
        _post_in_thread(key, events[::-1], answers, "reverse"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers["forward"][0] == answers["reverse"][0] == 200
    forward = answers["forward"][1]["items"]
    reverse = answers["reverse"][1]["items"][::-1]
    for a, b in zip(forward, reverse, strict=True):
        assert a["external_id"] == b["external_id"] and a["id"] == b["id"] is not None
        assert {a["status"], b["status"]} == {"accepted", "duplicate"}
    assert ServiceEvent.objects.count() == 2000
    assert sum(SatisfactionDaily.objects.values_list("events", flat=True)) == 2000

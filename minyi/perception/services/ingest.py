"""Step 1, ingest (事件接入): service events in from the police systems, checked item by item,
stored once (a repeated event is a duplicate, not an error), officers linked.

A batch is written set-wise, without a model instance per event: one INSERT … ON CONFLICT
(source, external_id) DO NOTHING RETURNING id for the events, one insert of their officer
links, one upsert of the SatisfactionDaily rollup. On PostgreSQL a large batch is COPied into a
temporary staging table and inserted from there, and its links COPied; a small batch, and any
on SQLite, goes in as multi-row VALUES (in chunks under SQLite's variable limit). A key that a
concurrent request stored meanwhile is skipped by the insert and answered as a duplicate with
the stored id: never an error, never a second row."""

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.batches import ItemResult
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, mask_text, normalize_mobile
from minyi.orgs.models import Officer, OrgUnit
from minyi.perception.models import BusinessType, ServiceEvent
from minyi.perception.services.daily import rollup_add, rollup_key

MAX_BATCH = 5000
# SQLite binds at most this many variables in one statement.
SQLITE_MAX_VARIABLES = 32766
# From this many rows on, PostgreSQL takes them by COPY (below, a temporary table's creation
# costs more than it saves).
COPY_FROM = 100
STAGE = "minyi_event_stage"

Key = tuple[str, str]  # (source, external_id)


class NewEvent(NamedTuple):
    """An accepted item as its row; the names are the model's (rollup_key reads them)."""

    source: str
    external_id: str
    business_type_id: int
    unit_id: int
    citizen_mobile: str  # the Fernet token, as the model field stores it
    citizen_mobile_hash: str
    occurred_at: datetime
    officer_ids: tuple[int, ...]
    unit_code: str
    result: ItemResult


# The columns each row brings, in NewEvent's order; every other column takes one value per batch.
ROW_FIELDS = NewEvent._fields[:7]
# The same helper the model field uses on save, so that the stored value decrypts through it.
_encrypt = ServiceEvent._meta.get_field("citizen_mobile").get_prep_value


def _reject(index, item, code, message) -> ItemResult:
    return ItemResult(
        index,
        str(item.get("external_id", "")),
        "rejected",
        code=code,
        message=mask_text(str(message)),  # it may quote the input
    )


def _out_of_scope(index, item, unit) -> ItemResult:
    return _reject(
        index, item, "unit_out_of_scope", _("单位 %(v)s 不在授权范围内。") % {"v": unit.code}
    )


def events_ingest(
    *, items: list[dict], scope_unit: OrgUnit | None, api_key=None
) -> list[ItemResult]:
    """Store a batch of service events. Idempotent on (source, external_id); each item is
    accepted, a duplicate, or rejected with a code; valid items are kept whatever the others
    are. `scope_unit` limits the units an integrating system may report for (None: all)."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条事件。") % {"max": MAX_BATCH}, status=413
        )
    now = timezone.now()
    latest = now + timedelta(minutes=10)
    business_types = dict(BusinessType.objects.values_list("code", "id"))
    unit_codes = {str(item.get("unit", "")) for item in items}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes)}
    numbers = {str(n) for item in items for n in item.get("officers") or ()}
    officers = {
        number: (pk, path)
        for pk, number, path in Officer.objects.filter(police_number__in=numbers).values_list(
            "id", "police_number", "unit__path"
        )
    }
    existing = _events_stored([_key(item) for item in items])

    results: list[ItemResult] = []
    new: list[NewEvent] = []
    seen: dict[Key, ItemResult] = {}  # the first occurrence of each key in this batch
    repeats: list[tuple[ItemResult, ItemResult]] = []
    for index, item in enumerate(items):
        key = _key(item)
        unit = units.get(item.get("unit"))
        if unit is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_unit",
                    _("未知的单位代码：%(v)s") % {"v": item.get("unit")},
                )
            )
            continue
        # Scope first: a key must not learn whether another unit's event exists.
        if scope_unit is not None and not scope_unit.contains(unit):
            results.append(_out_of_scope(index, item, unit))
            continue
        if key in existing:
            stored_id, stored_path = existing[key]
            if scope_unit is not None and not stored_path.startswith(scope_unit.path):
                # Stored for a unit outside this key's scope: say nothing about it.
                results.append(_out_of_scope(index, item, unit))
            else:
                results.append(ItemResult(index, key[1], "duplicate", id=stored_id))
            continue
        if key in seen:
            results.append(ItemResult(index, key[1], "duplicate"))
            repeats.append((results[-1], seen[key]))
            continue
        business_type_id = business_types.get(item.get("business_type"))
        if business_type_id is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_business_type",
                    _("未知的业务类型：%(v)s") % {"v": item.get("business_type")},
                )
            )
            continue
        # Officers must serve in the event's county/district branch and inside the key's scope.
        branch = unit.path[: OrgUnit.steplen * min(unit.depth, 2)]
        scope_path = scope_unit.path if scope_unit is not None else ""
        officer_ids, missing = {}, []
        for number in item.get("officers") or ():
            pk, path = officers.get(str(number), (None, ""))
            if pk is None or not path.startswith(branch) or not path.startswith(scope_path):
                missing.append(str(number))
            else:
                officer_ids[pk] = None  # a number sent twice is linked once
        if missing:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_officer",
                    _("未知或不属于该单位的警号：%(v)s") % {"v": "、".join(missing)},
                )
            )
            continue
        mobile = ""
        if item.get("citizen_mobile"):
            try:
                mobile = normalize_mobile(str(item["citizen_mobile"]))
            except ApplicationError as exc:
                results.append(_reject(index, item, exc.code, exc.message))
                continue
        occurred_at = item["occurred_at"]
        if occurred_at > latest:
            results.append(_reject(index, item, "occurred_in_future", _("发生时间晚于当前时间。")))
            continue
        result = seen[key] = ItemResult(index, key[1], "accepted")
        results.append(result)
        new.append(
            NewEvent(
                key[0],
                key[1],
                business_type_id,
                unit.pk,
                _encrypt(mobile),
                lookup_hash("mobile", mobile),
                occurred_at,
                tuple(officer_ids),
                unit.code,
                result,
            )
        )

    if new:
        _store_events(new, now=now, api_key=api_key, scope_unit=scope_unit)
    for repeat, first in repeats:
        # The answer of the first occurrence: its row's id (or its rejection).
        if first.status == "rejected":
            repeat.status, repeat.code, repeat.message = first.status, first.code, first.message
        else:
            repeat.id = first.id
    return results


def _key(item: dict) -> Key:
    return (str(item.get("source", "")), str(item.get("external_id", "")))


def _events_stored(keys: list[Key]) -> dict[Key, tuple[int, str]]:
    """(id, unit path) of the events already stored under these keys."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    events, units = ServiceEvent._meta.db_table, OrgUnit._meta.db_table
    # Identifiers are the models' own; every value is a parameter.
    select = (
        f"SELECT e.source, e.external_id, e.id, u.path FROM {events} e "  # noqa: S608
        f"JOIN {units} u ON u.id = e.unit_id "
    )
    found = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The keys as one JSON text: a third of the time of binding two text arrays.
            cursor.execute(
                select + "JOIN json_array_elements(%s::json) AS k "
                "ON e.source = k->>0 AND e.external_id = k->>1",
                [json.dumps(keys, ensure_ascii=False)],
            )
            rows = cursor.fetchall()
        else:
            rows = []
            for chunk in _chunks(keys, SQLITE_MAX_VARIABLES // 2):
                cursor.execute(
                    select
                    + "WHERE (e.source, e.external_id) IN (VALUES "
                    + ", ".join(["(%s, %s)"] * len(chunk))
                    + ")",
                    [value for key in chunk for value in key],
                )
                rows += cursor.fetchall()
        for source, external_id, pk, path in rows:
            found[(source, external_id)] = (pk, path)
    return found


def _chunks(rows: list, size: int):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _store_events(new: list[NewEvent], *, now, api_key, scope_unit) -> None:
    """Write the accepted events, their officer links and the rollup in one transaction.
    Keys that a concurrent request stored meanwhile are skipped by the insert (it waits for
    that request's transaction on PostgreSQL) and answered as duplicates, or as out of scope
    if that request stored them for a unit this key may not see."""
    # Concurrent batches take the unique index's entries in the same order: no deadlock.
    pending = sorted(new, key=lambda e: (e.source, e.external_id))
    for _attempt in range(3):
        with transaction.atomic():
            ids = _insert_events(pending, now=now, api_key=api_key)
            stored = [e for e in pending if (e.source, e.external_id) in ids]
            for event in stored:
                event.result.id = ids[(event.source, event.external_id)]
            _insert_links([(event.result.id, o) for event in stored for o in event.officer_ids])
            rollup_add(Counter(rollup_key(event) for event in stored), "events")
        late = [e for e in pending if (e.source, e.external_id) not in ids]
        found = _events_stored([(e.source, e.external_id) for e in late])
        pending = []
        for event in late:
            if (event.source, event.external_id) not in found:
                pending.append(event)  # its row was rolled back or deleted since: again
                continue
            stored_id, stored_path = found[(event.source, event.external_id)]
            if scope_unit is not None and not stored_path.startswith(scope_unit.path):
                event.result.status, event.result.code = "rejected", "unit_out_of_scope"
                event.result.message = _("单位 %(v)s 不在授权范围内。") % {"v": event.unit_code}
            else:
                event.result.status, event.result.id = "duplicate", stored_id
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} events neither inserted nor found after 3 attempts")


def _batch_values(now, api_key) -> dict[str, object]:
    """The columns that take one value for the whole batch, ready for the database: the
    receipt time, the key, and every other column's model default."""
    given = {"received_at": now, "api_key_id": api_key.pk if api_key is not None else None}
    return {
        field.column: field.get_db_prep_save(
            given[field.attname] if field.attname in given else field.get_default(), connection
        )
        for field in ServiceEvent._meta.concrete_fields
        if not field.primary_key and field.attname not in ROW_FIELDS
    }


def _insert_events(rows: list[NewEvent], *, now, api_key) -> dict[Key, int]:
    """Insert `rows` in their order, skipping keys already stored; the ids of those inserted,
    by key. On PostgreSQL a large batch is COPied into a staging table first (a tenth of the
    client CPU of binding arrays or VALUES, see docs/performance.md); a small one, and any
    batch on SQLite, goes in as multi-row VALUES."""
    meta = ServiceEvent._meta
    fields = [meta.get_field(name) for name in ROW_FIELDS]  # attnames are found too
    batch = _batch_values(now, api_key)
    # Identifiers are the model's own; every value is a parameter.
    insert = f"INSERT INTO {meta.db_table} ({', '.join([*(f.column for f in fields), *batch])}) "
    conflict = " ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id"
    returned = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
            columns = ", ".join(f"{f.column} {f.db_type(connection)}" for f in fields)
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({columns}) ON COMMIT DROP")
            with cursor.copy(f"COPY {STAGE} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row[: len(fields)])
            # A fresh table is scanned in the order it was written: the rows' (sorted) order.
            select = f"SELECT *, {', '.join(['%s'] * len(batch))} FROM {STAGE}"  # noqa: S608
            cursor.execute(insert + select + conflict, list(batch.values()))
            returned = cursor.fetchall()
            cursor.execute(f"DROP TABLE {STAGE}")  # a second batch in the same transaction
        else:
            occurred = ROW_FIELDS.index("occurred_at")
            adapt = connection.ops.adapt_datetimefield_value
            per_row = len(fields) + len(batch)
            placeholders = "(" + ", ".join(["%s"] * per_row) + ")"
            for chunk in _chunks(rows, SQLITE_MAX_VARIABLES // per_row):
                params = []
                for row in chunk:
                    values = list(row[: len(fields)])
                    values[occurred] = adapt(values[occurred])
                    params += values
                    params += batch.values()
                cursor.execute(
                    insert + "VALUES " + ", ".join([placeholders] * len(chunk)) + conflict, params
                )
                returned += cursor.fetchall()
    return {(source, external_id): pk for pk, source, external_id in returned}


def _insert_links(links: list[tuple[int, int]]) -> None:
    """(event id, officer id) rows into the officers M2M table."""
    if not links:
        return
    through = ServiceEvent.officers.through._meta
    columns = f"{through.get_field('serviceevent').column}, {through.get_field('officer').column}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(links) >= COPY_FROM:
            with cursor.copy(f"COPY {through.db_table} ({columns}) FROM STDIN") as copy:
                for link in links:
                    copy.write_row(link)
        else:
            # Identifiers are the model's own; every value is a parameter.
            cursor.executemany(
                f"INSERT INTO {through.db_table} ({columns}) VALUES (%s, %s)",  # noqa: S608
                links,
            )

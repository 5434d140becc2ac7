"""The satisfaction rollup (SatisfactionDaily): perception owns it and keeps it current as
events arrive, surveys go out, ratings come in and appeals take ratings out. Dashboards read it."""

from collections import Counter

from django.db import connection
from django.db.models import F
from django.utils import timezone

from minyi.perception.models import SatisfactionDaily, ServiceEvent


def rollup_key(event: ServiceEvent) -> tuple:
    day = timezone.localtime(event.occurred_at).date()
    return (day, event.unit_id, event.business_type_id)


ROLLUP_FIELDS = (
    "events",
    "surveys_sent",
    "replies",
    *(f"rating_{i}" for i in range(1, 6)),
    "excluded",
)


def rollup_add(counts: Counter, *fields: str) -> None:
    """Add counts to SatisfactionDaily rows in one upsert: each key's count to every field."""
    if not fields or set(fields) - set(ROLLUP_FIELDS):
        raise ValueError(f"not rollup fields: {fields}")
    _upsert({key: dict.fromkeys(fields, n) for key, n in counts.items()})


def rollup_add_many(counts: Counter, *also: str) -> None:
    """Add counts keyed by (rollup key, field) in one upsert, each count also to the fields in
    `also` (a batch of ratings: {(key, "rating_4"): 2, …} and "replies")."""
    rows: dict[tuple, Counter] = {}
    for (key, field), n in counts.items():
        row = rows.setdefault(key, Counter())
        for name in (field, *also):
            row[name] += n
    if {f for row in rows.values() for f in row} - set(ROLLUP_FIELDS):
        raise ValueError(f"not rollup fields: {counts}")
    _upsert(rows)


def _upsert(rows: dict[tuple, dict]) -> None:
    """One INSERT … ON CONFLICT for every row. Keys go in sorted order, so that concurrent
    batches lock rows in the same order and cannot deadlock each other."""
    if not rows:
        return
    fields = [f for f in ROLLUP_FIELDS if any(f in row for row in rows.values())]
    table = SatisfactionDaily._meta.db_table
    columns = ", ".join(ROLLUP_FIELDS)
    values = [
        [day, unit_id, business_type_id, *(row.get(f, 0) for f in ROLLUP_FIELDS)]
        for (day, unit_id, business_type_id), row in sorted(rows.items())
    ]
    placeholders = ", ".join(["%s"] * (3 + len(ROLLUP_FIELDS)))
    # Identifiers are the model's own; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (day, unit_id, business_type_id, {columns}) "  # noqa: S608
        f"VALUES ({placeholders}) ON CONFLICT (day, unit_id, business_type_id) "
        "DO UPDATE SET " + ", ".join(f"{f} = {table}.{f} + EXCLUDED.{f}" for f in fields)
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def rollup_exclude(event: ServiceEvent, rating: int) -> None:
    """A rating taken out by an upheld appeal: it leaves `replies` and its `rating_N` and is
    counted in `excluded` instead."""
    day, unit_id, business_type_id = rollup_key(event)
    SatisfactionDaily.objects.filter(
        day=day, unit_id=unit_id, business_type_id=business_type_id
    ).update(
        replies=F("replies") - 1,
        excluded=F("excluded") + 1,
        **{f"rating_{rating}": F(f"rating_{rating}") - 1},
    )

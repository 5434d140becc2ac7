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
    """Add counts to SatisfactionDaily rows in one upsert. Keys go in sorted order, so that
    concurrent batches lock rows in the same order and cannot deadlock each other."""
    if not counts:
        return
    if not fields or set(fields) - set(ROLLUP_FIELDS):
        raise ValueError(f"not rollup fields: {fields}")
    table = SatisfactionDaily._meta.db_table
    columns = ", ".join(ROLLUP_FIELDS)
    rows = []
    for (day, unit_id, business_type_id), n in sorted(counts.items()):
        rows.append(
            [day, unit_id, business_type_id, *(n if f in fields else 0 for f in ROLLUP_FIELDS)]
        )
    placeholders = ", ".join(["%s"] * (3 + len(ROLLUP_FIELDS)))
    # Identifiers are the model's own; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (day, unit_id, business_type_id, {columns}) "  # noqa: S608
        f"VALUES ({placeholders}) ON CONFLICT (day, unit_id, business_type_id) "
        "DO UPDATE SET " + ", ".join(f"{f} = {table}.{f} + EXCLUDED.{f}" for f in fields)
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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

"""The retention purge (到期删除): every holding of HOLDINGS past its category's period is
blanked, redacted or its file deleted, old audit rows and old processing records deleted, and
each step leaves a ProcessingRecord. Run daily by the worker and by
`manage.py purge_personal_data`."""

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from minyi.core.models import AuditEvent
from minyi.privacy.conf import AUDIT, MEDIA, MOBILE, PROCESSING_RECORD, retention_days
from minyi.privacy.models import ProcessingRecord, PurgeState
from minyi.privacy.registry import HOLDINGS, REDACTED, Holding

BATCH_SIZE = 1000
# The session setting the audit table's trigger asks for before it lets a row be deleted
# (migration 0002; PostgreSQL only).
AUDIT_PURGE_SETTING = "minyi.audit_purge"


@dataclass
class PurgeResult:
    holding: str
    category: str
    action: str
    period_days: int
    cutoff: datetime
    rows: int


def _action(holding: Holding) -> str:
    if holding.category == MOBILE:
        return "blank"
    return "delete_file" if holding.category == MEDIA else "redact"


def _holding_rows(holding: Holding, *, cutoff, lower):
    qs = holding.model_class().objects.filter(**{f"{holding.date_field}__lt": cutoff})
    if lower is not None:
        qs = qs.filter(**{f"{holding.date_field}__gte": lower})
    if holding.condition is not None:
        qs = qs.filter(holding.condition)
    # Only rows that still hold something: an empty comment is not turned into a marker.
    return qs.filter(reduce(operator.or_, (~Q(**{f: ""}) for f in holding.fields)))


def _batch_apply(holding: Holding, model, pks: list[int]) -> None:
    rows = model.objects.filter(pk__in=pks)
    if holding.category == MEDIA:
        for field in holding.fields:
            storage = model._meta.get_field(field).storage
            for name in rows.exclude(**{field: ""}).values_list(field, flat=True):
                storage.delete(name)
    value = "" if holding.category in (MOBILE, MEDIA) else REDACTED
    for field in holding.fields:
        rows.exclude(**{field: ""}).update(**{field: value})


def _holding_purge(holding: Holding, *, now, dry_run: bool, batch_size: int) -> PurgeResult:
    days = retention_days(holding.category)
    cutoff = now - timedelta(days=days)
    state = PurgeState.objects.filter(holding=holding.key).first()
    lower = state.cutoff if state else None
    result = PurgeResult(holding.key, holding.category, _action(holding), days, cutoff, 0)
    if lower is not None and lower >= cutoff:
        return result
    rows = _holding_rows(holding, cutoff=cutoff, lower=lower)
    if dry_run:
        result.rows = rows.count()
        return result
    model, last = holding.model_class(), 0
    while pks := list(
        rows.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size]
    ):
        # One transaction per batch: a crash leaves the watermark where it was, and the next
        # run redoes the range (redacting a redacted text again changes nothing).
        with transaction.atomic():
            _batch_apply(holding, model, pks)
        result.rows += len(pks)
        last = pks[-1]
    PurgeState.objects.update_or_create(holding=holding.key, defaults={"cutoff": cutoff})
    return result


def _audit_purge(*, now, dry_run: bool, batch_size: int) -> PurgeResult:
    days = retention_days(AUDIT)
    cutoff = now - timedelta(days=days)
    result = PurgeResult("audit:core.AuditEvent", AUDIT, "delete", days, cutoff, 0)
    old = AuditEvent.objects.filter(at__lt=cutoff)
    if dry_run:
        result.rows = old.count()
        return result
    table = AuditEvent._meta.db_table
    at = connection.ops.adapt_datetimefield_value(cutoff)
    # The model refuses deletes (append-only); only this statement, with the session setting
    # the database trigger asks for, removes rows, and the trigger itself still refuses any
    # row younger than the legal minimum.
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config(%s, 'on', true)", [AUDIT_PURGE_SETTING])
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN "  # noqa: S608 (table name from the model)
                f"(SELECT id FROM {table} WHERE at < %s ORDER BY id LIMIT %s)",
                [at, batch_size],
            )
            deleted = cursor.rowcount
            if connection.vendor == "postgresql":
                # Off again at once, in case the caller's transaction goes on after ours.
                cursor.execute("SELECT set_config(%s, 'off', true)", [AUDIT_PURGE_SETTING])
        result.rows += deleted
        if deleted < batch_size:
            return result


def _records_purge(*, now, dry_run: bool) -> PurgeResult:
    days = retention_days(PROCESSING_RECORD)
    cutoff = now - timedelta(days=days)
    result = PurgeResult(
        "processing_record:privacy.ProcessingRecord", PROCESSING_RECORD, "delete", days, cutoff, 0
    )
    old = ProcessingRecord.objects.filter(at__lt=cutoff)
    result.rows = old.count() if dry_run else old.delete()[0]
    return result


def personal_data_purge(
    *, now=None, dry_run: bool = False, actor=None, job: str, batch_size: int = BATCH_SIZE
) -> list[PurgeResult]:
    """Apply every retention period as of `now`; returns one result per holding. A dry run
    counts what would be changed and writes nothing, not even a processing record."""
    now = now or timezone.now()
    results = [_holding_purge(h, now=now, dry_run=dry_run, batch_size=batch_size) for h in HOLDINGS]
    results.append(_audit_purge(now=now, dry_run=dry_run, batch_size=batch_size))
    results.append(_records_purge(now=now, dry_run=dry_run))
    if not dry_run:
        ProcessingRecord.objects.bulk_create(
            ProcessingRecord(
                at=now,
                category=r.category,
                holding=r.holding,
                action=r.action,
                period_days=r.period_days,
                cutoff=r.cutoff,
                rows_affected=r.rows,
                actor=actor,
                job=job[:80],
            )
            for r in results
        )
    return results

"""Manual import of service events from CSV (导入事件): each row goes through the API's schema
and the same ingest service, and every line gets an answer."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError

from minyi.orgs.selectors import orgunit_root_for
from minyi.perception.schemas import EventIn, printable
from minyi.perception.services import events_ingest

CSV_COLUMNS = [
    "source",
    "external_id",
    "business_type",
    "unit",
    "officers",
    "citizen_mobile",
    "occurred_at",
]


def parse_csv_row(row: dict) -> dict | str:
    """A CSV row as the API's EventIn (same limits, same checks), or why it is not one."""
    cell = {column: (row.get(column) or "").strip() for column in CSV_COLUMNS}
    try:
        occurred = datetime.fromisoformat(cell["occurred_at"])
    except ValueError:
        return _("发生时间格式应为 2026-11-24 09:30")
    if timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred)
    numbers = [n.strip() for n in cell["officers"].replace("；", ";").split(";") if n.strip()]
    try:
        event = EventIn.model_validate({**cell, "officers": numbers, "occurred_at": occurred})
    except ValidationError as exc:
        first = exc.errors()[0]
        return printable(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    return event.model_dump()


def events_import_rows(*, actor, rows: list[dict]) -> list[dict]:
    """Ingest CSV rows within the actor's subtree; one result per line (line 1 is the header)."""
    parsed = [parse_csv_row(row) for row in rows]
    scope = None if actor.is_superuser else orgunit_root_for(actor)
    ingested = iter(
        events_ingest(items=[p for p in parsed if isinstance(p, dict)], scope_unit=scope)
    )
    results = []
    for index, item in enumerate(parsed):
        line = index + 2
        if isinstance(item, dict):
            result = next(ingested)
            results.append(
                {
                    "line": line,
                    "external_id": result.external_id,
                    "status": result.status,
                    "message": result.message,
                }
            )
        else:
            results.append(
                {
                    "line": line,
                    "external_id": printable(rows[index].get("external_id") or ""),
                    "status": "rejected",
                    "message": item,
                }
            )
    return results

"""Manual import of service events (导入服务事件) from a CSV or Excel file: each row goes through
the API's schema and the same ingest service. The file rules (encodings, headers, row errors,
all or nothing) are minyi.core.imports'; this module says what an event row means."""

from django.utils.translation import gettext as _
from pydantic import ValidationError

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    PROGRESS_EVERY,
    Column,
    ImportReport,
    Progress,
    Row,
    Table,
    cell_datetime,
    ingest_rows,
    rows_import,
)
from minyi.orgs.selectors import orgunit_root_for
from minyi.perception.schemas import EventIn
from minyi.perception.services.ingest import MAX_BATCH, events_ingest

COLUMNS = [
    Column("source", "来源系统"),
    Column("external_id", "外部编号"),
    Column("business_type", "业务类型"),
    Column("unit", "单位代码", ("办理单位代码",)),
    Column("officers", "警号", ("民警警号",)),
    Column("citizen_mobile", "群众手机", ("手机", "手机号码")),
    Column("occurred_at", "发生时间"),
]
CSV_COLUMNS = [column.name for column in COLUMNS]
# The column behind each refusal of events_ingest (its items carry codes, not fields).
INGEST_COLUMNS = {
    "unknown_unit": "unit",
    "unit_out_of_scope": "unit",
    "unknown_business_type": "business_type",
    "unknown_officer": "officers",
    "invalid_mobile": "citizen_mobile",
    "occurred_in_future": "occurred_at",
}
# Rows per ingest call: a batch the API would accept, and a progress step.
INGEST_CHUNK = min(MAX_BATCH, PROGRESS_EVERY)


def _schema_problem(error: dict) -> str:
    """A pydantic error on one field of EventIn, in words for people."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return _("不能为空。")
    if kind == "string_too_long":
        return _("不能超过 %(n)d 个字符。") % {"n": context["max_length"]}
    if kind == "too_long":
        return _("最多 %(n)d 个。") % {"n": context["max_length"]}
    if kind == "value_error" and error["loc"][:1] == ("occurred_at",):
        return _("时间应在 2000 年到 2100 年之间。")
    if kind == "value_error":
        return _("含有控制字符或无效字符。")
    return _("格式不正确。")


def parse_row(row: Row) -> dict:
    """A row as the API's EventIn (same limits, same checks), or ApplicationError naming the
    column at fault."""
    cell = row.cells
    numbers = [n.strip() for n in cell["officers"].replace("；", ";").split(";") if n.strip()]
    occurred = cell_datetime(cell["occurred_at"], column="occurred_at")
    try:
        event = EventIn.model_validate({**cell, "officers": numbers, "occurred_at": occurred})
    except ValidationError as exc:
        first = exc.errors()[0]
        column = str(first["loc"][0]) if first["loc"] else ""
        raise ApplicationError("invalid_item", _schema_problem(first), field=column) from None
    return event.model_dump()


def events_import(*, actor, table: Table, progress: Progress | None = None) -> ImportReport:
    """Ingest the rows of `table` within the actor's subtree, all or nothing. Only a superuser
    imports for every unit; anyone else without a unit imports nothing. A row already stored
    (same source and external id) is a duplicate, not an error."""
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()
    scope = None if actor.is_superuser else orgunit_root_for(actor)

    def store(checked):
        return ingest_rows(
            table,
            checked,
            ingest=lambda items: events_ingest(items=items, scope_unit=scope),
            chunk=INGEST_CHUNK,
            columns=INGEST_COLUMNS,
        )

    return rows_import(table=table, check_row=parse_row, store=store, progress=progress)

"""Due items (到期事项) in, by API (an integration key scoped to its unit's subtree) and by file
(CSV/Excel: upload → preview → confirm). Both go through `items_ingest`: idempotent on
(source, external_id); each item accepted, a duplicate (its stored id returned) or rejected
with a machine code; by API the valid items are kept whatever the others are.

The item's label is masked here, before it is stored: a plate keeps its province, letter and
last two characters (浙D·***12), an ID or licence number only its last four (尾号1234)."""

import re
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.batches import ItemResult
from minyi.core.errors import ApplicationError
from minyi.core.imports import (
    Column,
    ImportReport,
    Preview,
    Progress,
    Row,
    Table,
    import_file_run,
    import_file_start,
    import_file_store,
    import_preview,
    ingest_rows,
    rows_import,
)
from minyi.core.masking import mask_text
from minyi.core.models import ImportFile
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import import_file_get_visible, import_files_visible_to, orgunit_root_for
from minyi.reminders.models import DueItem, ReminderKind

MAX_BATCH = 1000
FILE_SOURCE = "file"
IMPORT_KIND = "reminder_items"
IMPORT_KINDS = (IMPORT_KIND,)
MAX_DUE_YEARS = 20
LABEL_MAX = 40

COLUMNS = [
    Column("external_id", "事项编号", aliases=("编号", "业务编号")),
    Column("kind", "提醒类型", aliases=("类型", "事项类型")),
    Column("unit", "单位代码", aliases=("单位", "办理单位代码")),
    Column("mobile", "手机号码", aliases=("手机", "手机号")),
    Column("item", "事项", aliases=("号牌", "事项名称")),
    Column("due_date", "到期日期", aliases=("到期日", "截止日期")),
]
_KINDS = {
    **{value: value for value in ReminderKind.values},
    **{str(label): value for value, label in ReminderKind.choices},
}
# 浙D12345, 浙D·A1234, 浙DD12345 (new energy): province, letter, then 5–6 letters or digits,
# anywhere in the label (浙A·12345 蓝牌, 粤B12345(小型汽车)).
_PLATE = re.compile(r"([\u4e00-\u9fff])([A-Z])[·.\s-]?([A-Z0-9]{5,6})(?![A-Z0-9])", re.IGNORECASE)
_ID_LIKE = re.compile(r"^[0-9]{15}([0-9]{2}[0-9X])?$")
# A run of letters or digits not already masked (not touching a "*").
_LONG_CODE = re.compile(r"(?<![0-9A-Za-z*])[0-9A-Za-z]{4,}(?![0-9A-Za-z*])")
SHORT_RUN_TAIL = 2  # a run of 4–7 characters keeps its last 2
LONG_RUN = 8  # a run of 8 or more keeps its last 4


# --- Checking one item ---------------------------------------------------------------------------


def _plate_mask(match: re.Match) -> str:
    province, letter, rest = match.groups()
    return f"{province}{letter.upper()}·***{rest[-2:].upper()}"


def _run_mask(match: re.Match) -> str:
    run = match.group(0)
    return "***" + run[-4:] if len(run) >= LONG_RUN else "***" + run[-SHORT_RUN_TAIL:]


def item_label_mask(label: str) -> str:
    """What a reminder may say about the item: a plate masked where it stands (浙A·***45 蓝牌),
    an ID number alone as 尾号1234, mobiles and ID numbers in text masked, and any other run
    of 4 or more letters or digits reduced to its last 2 (4 when 8 or longer)."""
    text = " ".join(str(label or "").split())
    if _ID_LIKE.match(text.upper()):
        return _("尾号%(tail)s") % {"tail": text[-4:].upper()}
    text = _PLATE.sub(_plate_mask, text)
    text = mask_text(text)
    text = _LONG_CODE.sub(_run_mask, text)
    return text[:LABEL_MAX]


def kind_parse(text: str, *, column: str = "kind") -> str:
    value = _KINDS.get(str(text).strip())
    if value is None:
        raise ApplicationError(
            "invalid_kind",
            _("“%(text)s”不是有效的提醒类型，应填：%(labels)s。")
            % {"text": str(text)[:20], "labels": "、".join(str(k.label) for k in ReminderKind)},
            field=column,
        )
    return value


def due_date_parse(value, *, today: date, column: str = "due_date") -> date:
    if isinstance(value, str):
        text = value.strip().replace("/", "-")[:10]
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise ApplicationError(
                "invalid_due_date", _("到期日期格式不正确，应如 2026-12-31。"), field=column
            ) from None
    if not isinstance(value, date):
        raise ApplicationError(
            "invalid_due_date", _("到期日期格式不正确，应如 2026-12-31。"), field=column
        )
    if value < today:
        raise ApplicationError(
            "due_date_past",
            _("到期日期 %(day)s 已过，不再提醒。") % {"day": value.isoformat()},
            field=column,
        )
    if value > today + timedelta(days=366 * MAX_DUE_YEARS):
        raise ApplicationError("due_date_too_far", _("到期日期过远，请核对。"), field=column)
    return value


class UnitCodes:
    """Units by code, and whether each lies in the importer's (or the key's) subtree."""

    def __init__(self, codes, *, scope: OrgUnit | None):
        self.scope = scope
        self.units = {u.code: u for u in OrgUnit.objects.filter(code__in=set(codes))}

    def get(self, code: str, *, column: str = "unit") -> OrgUnit:
        unit = self.units.get(code)
        if unit is None:
            raise ApplicationError(
                "unknown_unit", _("单位代码“%(code)s”不存在。") % {"code": code[:20]}, field=column
            )
        if self.scope is not None and not self.scope.contains(unit):
            raise ApplicationError(
                "unit_out_of_scope",
                _("单位“%(code)s”不在授权范围内。") % {"code": code[:20]},
                field=column,
            )
        return unit


def _reject(index: int, external_id, exc: ApplicationError) -> ItemResult:
    return ItemResult(
        index, str(external_id)[:80], "rejected", code=exc.code, message=mask_text(str(exc.message))
    )


# --- Storing -------------------------------------------------------------------------------------


def items_ingest(
    *, items: list[dict], scope_unit: OrgUnit | None, import_file=None, now=None
) -> list[ItemResult]:
    """Store a batch of due items. Each item: source, external_id, kind (value or Chinese
    label), unit (OrgUnit code), mobile, item (label, masked here), due_date (date or
    YYYY-MM-DD). Idempotent on (source, external_id); `scope_unit` limits the units (None:
    all)."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条到期事项。") % {"max": MAX_BATCH}, status=413
        )
    now = now or timezone.now()
    today = timezone.localdate(now)
    units = UnitCodes((str(i.get("unit", "")) for i in items), scope=scope_unit)
    keys = {(str(i.get("source", "")), str(i.get("external_id", ""))) for i in items}
    existing = {
        (s, e): (pk, path)
        for s, e, pk, path in DueItem.objects.filter(
            source__in={k[0] for k in keys}, external_id__in={k[1] for k in keys}
        ).values_list("source", "external_id", "id", "unit__path")
        if (s, e) in keys
    }
    results: list[ItemResult] = []
    fresh: dict[tuple[str, str], tuple[ItemResult, DueItem]] = {}
    repeats: list[tuple[ItemResult, tuple[str, str]]] = []  # a repeat within the batch
    for index, item in enumerate(items):
        key = (str(item.get("source", "")), str(item.get("external_id", "")))
        try:
            if key in existing:
                results.append(_stored(index, key, existing[key], scope_unit))
            elif key in fresh:
                repeats.append((ItemResult(index, key[1], "duplicate"), key))
                results.append(repeats[-1][0])
            else:
                row = _due_item(item, key, units=units, today=today)
                row.created_at, row.import_file = now, import_file
                fresh[key] = (ItemResult(index, key[1], "accepted"), row)
                results.append(fresh[key][0])
        except ApplicationError as exc:
            results.append(_reject(index, key[1], exc))
    _store(list(fresh.values()))
    for result, key in repeats:
        result.id = fresh[key][0].id
    return results


def _stored(index: int, key, stored, scope_unit) -> ItemResult:
    """An item already stored: a duplicate with its id, unless it lies outside the key's
    subtree (a key must not learn whether another subtree's item exists)."""
    stored_id, stored_path = stored
    if scope_unit is not None and not stored_path.startswith(scope_unit.path):
        raise ApplicationError("unit_out_of_scope", _("该事项不在授权范围内。"), field="unit")
    return ItemResult(index, key[1], "duplicate", id=stored_id)


def _due_item(item: dict, key, *, units: UnitCodes, today: date) -> DueItem:
    unit = units.get(str(item.get("unit", "")))
    if not key[0] or not key[1]:
        raise ApplicationError(
            "external_id_required", _("来源和事项编号不能为空。"), field="external_id"
        )
    kind = kind_parse(item.get("kind", ""))
    mobile = normalize_mobile(str(item.get("mobile", "")))
    label = item_label_mask(item.get("item", ""))
    if not label:
        raise ApplicationError("item_required", _("事项不能为空。"), field="item")
    return DueItem(
        source=key[0],
        external_id=key[1],
        kind=kind,
        unit=unit,
        mobile=mobile,
        mobile_hash=lookup_hash("mobile", mobile),
        item_label=label,
        due_date=due_date_parse(item.get("due_date"), today=today),
    )


def _store(pairs: list[tuple[ItemResult, DueItem]]) -> None:
    if not pairs:
        return
    try:
        with transaction.atomic():
            DueItem.objects.bulk_create([row for _result, row in pairs])
    except IntegrityError:
        # Another request stored some of these a moment ago: one by one, and the late ones
        # are answered as duplicates.
        for result, row in pairs:
            _store_one(result, row)
        return
    for result, row in pairs:
        result.id = row.pk


def _store_one(result: ItemResult, row: DueItem) -> None:
    row.pk = None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        result.status = "duplicate"
        result.id = (
            DueItem.objects.filter(source=row.source, external_id=row.external_id)
            .values_list("pk", flat=True)
            .first()
        )
        return
    result.id = row.pk


# --- The file import -----------------------------------------------------------------------------

INGEST_COLUMNS = {
    "unknown_unit": "unit",
    "unit_out_of_scope": "unit",
    "invalid_kind": "kind",
    "invalid_mobile": "mobile",
    "item_required": "item",
    "invalid_due_date": "due_date",
    "due_date_past": "due_date",
    "due_date_too_far": "due_date",
    "external_id_required": "external_id",
}


def item_checker(*, scope: OrgUnit | None, table: Table, now=None):
    today = timezone.localdate(now or timezone.now())
    units = UnitCodes((row.cells.get("unit", "") for row in table.rows), scope=scope)

    def check_row(row: Row) -> dict:
        cell = row.cells
        external_id = cell["external_id"]
        if not external_id:
            raise ApplicationError(
                "external_id_required", _("事项编号不能为空。"), field="external_id"
            )
        if len(external_id) > 64:
            raise ApplicationError(
                "external_id_too_long", _("事项编号不能超过 64 个字符。"), field="external_id"
            )
        units.get(cell["unit"])
        if not cell["item"]:
            raise ApplicationError("item_required", _("事项不能为空。"), field="item")
        return {
            "source": FILE_SOURCE,
            "external_id": external_id,
            "kind": kind_parse(cell["kind"]),
            "unit": cell["unit"],
            "mobile": normalize_mobile(cell["mobile"]),
            "item": cell["item"],
            "due_date": due_date_parse(cell["due_date"], today=today),
        }

    return check_row


def items_import(
    *, actor, table: Table, progress: Progress | None = None, import_file=None, now=None
) -> ImportReport:
    """Import the due items of `table` within the actor's subtree, all or nothing. A row
    already stored (same 事项编号) is not an error: it is reported as a duplicate, and the
    stored item is kept as it was."""
    scope = _scope(actor)

    def store(checked):
        return ingest_rows(
            table,
            checked,
            ingest=lambda items: items_ingest(
                items=items, scope_unit=scope, import_file=import_file, now=now
            ),
            chunk=MAX_BATCH,
            columns=INGEST_COLUMNS,
        )

    report = rows_import(
        table=table,
        check_row=item_checker(scope=scope, table=table, now=now),
        store=store,
        progress=progress,
    )
    if report.stored:
        duplicates = [r for r in report.results if r["status"] == "duplicate"]
        report.summary["accepted"] = len(report.results) - len(duplicates)
        report.summary["duplicates"] = [
            {"line": r["line"], "external_id": r["external_id"]} for r in duplicates[:200]
        ]
        report.summary["duplicate_count"] = len(duplicates)
    return report


def _scope(actor) -> OrgUnit | None:
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()
    return None if actor.is_superuser else orgunit_root_for(actor)


def _require_manager(actor) -> OrgUnit:
    root = orgunit_root_for(actor)
    if root is None or not has_perm(actor, Perm.REMINDER_MANAGE):
        raise PermissionDenied()
    return root


def items_file_upload(*, actor, upload) -> ImportFile:
    """Keep an uploaded file of due items (待确认), to preview and then confirm."""
    root = _require_manager(actor)
    return import_file_store(actor=actor, kind=IMPORT_KIND, unit=root, upload=upload)


def items_file_preview(*, record: ImportFile, now=None) -> Preview:
    """What a stored file holds (the first rows checked), before it is confirmed."""
    actor = record.uploaded_by

    def check_row(row: Row):
        table = Table(rows=[row], encoding="utf-8", headers={})
        return item_checker(scope=_scope(actor), table=table, now=now)(row)

    return import_preview(record, columns=COLUMNS, check_row=check_row)


def items_file_confirm(*, actor, record: ImportFile, now=None) -> ImportFile:
    """Confirm a previewed file and import it at once (a few thousand rows take seconds)."""
    _require_manager(actor)
    import_file_start(record=record, actor=actor)

    def run(record, table, progress) -> ImportReport:
        return items_import(
            actor=record.uploaded_by, table=table, progress=progress, import_file=record, now=now
        )

    return import_file_run(record.pk, columns=COLUMNS, run=run)


def item_imports_visible_to(user):
    return import_files_visible_to(user, kind=IMPORT_KIND, kinds=IMPORT_KINDS)


def item_import_get_visible(user, pk) -> ImportFile:
    return import_file_get_visible(user, pk, kinds=IMPORT_KINDS)

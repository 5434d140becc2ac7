"""Business figures (业务指标) of the annual assessment: each a numerator and a denominator per
unit and period, imported from the bureau's business systems (破案率, 追赃率, …) or computed by
Minyi from its own records, counted exactly as the dashboards count them:

- 回访满意率: answered surveys of contacts in the period (by the day of the contact), satisfied
  (ratings 1–3) / answered, ratings taken out by an upheld appeal left out (perception's
  SatisfactionDaily, which the dashboards sum too);
- 不满意回访按时率: callbacks due in the period, done by their due time / due (open ones count
  as not on time);
- 整改按时办结率: work orders dispatched in the period, feedback by the deadline / feedback by
  the deadline + late (late feedback, or none with the deadline passed), cancelled left out;
- 意见建议答复率: opinions submitted in the period, answered / received;
- 真解决率: work orders dispatched in the period, closed after a satisfied 追评 / closed.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.assessment.access import can_manage
from minyi.assessment.models import (
    COMPUTED_CODES,
    BusinessCode,
    BusinessFigure,
    FigureSource,
)
from minyi.callbacks.models import Callback, CallbackStatus
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    Column,
    ImportReport,
    Preview,
    Progress,
    Row,
    RowError,
    Table,
    import_file_run,
    import_file_start,
    import_file_store,
    import_preview,
    rows_import,
)
from minyi.core.models import AuditAction, ImportFile
from minyi.opinions.models import Opinion
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import orgunit_root_for
from minyi.perception.models import SATISFIED_RATINGS, SatisfactionDaily
from minyi.workorders.models import UNIT_STATUSES, WorkOrder, WorkOrderStatus

COLUMNS = [
    Column("unit_code", "单位代码"),
    Column("indicator", "指标"),
    Column("period_start", "起始日期"),
    Column("period_end", "截止日期"),
    Column("numerator", "分子"),
    Column("denominator", "分母"),
]
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
KIND_FIGURES = "business_figures"
IMPORTED_CODES = tuple(c for c in BusinessCode if c not in COMPUTED_CODES)


def _code_of(text: str) -> str:
    """A BusinessCode from its code or its Chinese label, or ApplicationError."""
    for code in BusinessCode:
        if text in (code.value, str(code.label)):
            if code in COMPUTED_CODES:
                raise ApplicationError(
                    "indicator_computed",
                    _("“%(name)s”由平台根据回访、工单和诉求记录计算，不能导入。")
                    % {"name": code.label},
                    field="indicator",
                )
            return code.value
    names = "、".join(str(c.label) for c in IMPORTED_CODES)
    raise ApplicationError(
        "unknown_indicator",
        _("未知指标“%(text)s”，可导入的指标：%(names)s。") % {"text": text, "names": names},
        field="indicator",
    )


def _date_of(text: str, *, column: str) -> date:
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ApplicationError(
            "invalid_date", _("日期格式不正确，应如 2026-06-30。"), field=column
        ) from None


def _count_of(text: str, *, column: str, label: str) -> int:
    if re.fullmatch(r"-\d+(\.0+)?", text):
        raise ApplicationError(
            "negative_count", _("%(label)s不能为负数。") % {"label": label}, field=column
        )
    if not re.fullmatch(r"\d+(\.0+)?", text):
        raise ApplicationError(
            "invalid_count", _("%(label)s须为非负整数。") % {"label": label}, field=column
        )
    return int(text.split(".")[0])


class _Units:
    """Units by code, looked up once per code (a file names a few hundred at most)."""

    def __init__(self):
        self.by_code: dict[str, OrgUnit | None] = {}

    def get(self, code: str) -> OrgUnit | None:
        if code not in self.by_code:
            self.by_code[code] = OrgUnit.objects.filter(code=code).first() if code else None
        return self.by_code[code]


def figure_checker(*, actor) -> Callable[[Row], dict]:
    """`check_row` of a business-figure file imported by `actor`: what the row means, or
    ApplicationError naming its column."""
    scope = None if actor.is_superuser else orgunit_root_for(actor)
    units = _Units()

    def check_row(row: Row) -> dict:
        cell = row.cells
        unit = units.get(cell["unit_code"])
        if unit is None:
            raise ApplicationError(
                "unknown_unit",
                _("单位代码“%(code)s”不存在。") % {"code": cell["unit_code"]},
                field="unit_code",
            )
        if scope is not None and not scope.contains(unit):
            raise ApplicationError(
                "unit_out_of_scope",
                _("单位“%(name)s”不在您的管辖范围内。") % {"name": unit.name},
                field="unit_code",
            )
        figure = {
            "unit": unit,
            "code": _code_of(cell["indicator"]),
            "period_start": _date_of(cell["period_start"], column="period_start"),
            "period_end": _date_of(cell["period_end"], column="period_end"),
            "numerator": _count_of(cell["numerator"], column="numerator", label=_("分子")),
            "denominator": _count_of(cell["denominator"], column="denominator", label=_("分母")),
        }
        if figure["period_end"] < figure["period_start"]:
            raise ApplicationError(
                "period_reversed", _("截止日期早于起始日期。"), field="period_end"
            )
        if figure["numerator"] > figure["denominator"]:
            raise ApplicationError(
                "numerator_above_denominator",
                _("分子（%(a)d）大于分母（%(b)d）。")
                % {"a": figure["numerator"], "b": figure["denominator"]},
                field="numerator",
            )
        return figure

    return check_row


def business_figures_import(
    *, actor, table: Table, progress: Progress | None = None, source: ImportFile | None = None
) -> ImportReport:
    """Import business figures within the actor's subtree, all or nothing. A figure already
    imported for the same unit, indicator and period is replaced; the same one twice in the
    file is refused. `source` is the stored file they came from."""
    if not can_manage(actor):
        raise PermissionDenied()
    if not actor.is_superuser and actor.unit_id is None:
        raise PermissionDenied()

    def store(checked):
        first_row: dict[tuple, int] = {}
        for row, figure in checked:
            key = (figure["unit"].pk, figure["code"], figure["period_start"], figure["period_end"])
            if key in first_row:
                yield (
                    row,
                    RowError(
                        row=row.number,
                        column="",
                        code="duplicate_figure",
                        message=_("与第 %(line)d 行重复（同一单位、指标和期间）。")
                        % {"line": first_row[key]},
                    ),
                )
                continue
            first_row[key] = row.number
            _obj, created = BusinessFigure.objects.update_or_create(
                unit=figure["unit"],
                code=figure["code"],
                period_start=figure["period_start"],
                period_end=figure["period_end"],
                defaults={
                    "numerator": figure["numerator"],
                    "denominator": figure["denominator"],
                    "source": FigureSource.IMPORTED,
                    "source_import": source,
                },
            )
            yield row, {**figure, "line": row.number, "created": created}

    report = rows_import(
        table=table, check_row=figure_checker(actor=actor), store=store, progress=progress
    )
    if report.stored:
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=source,
            detail={"business_figures_imported": len(report.results)},
        )
    return report


# --- The stored import (core.ImportFile): upload, preview, confirm, run in the background ---


def figures_import_upload(*, actor, upload) -> ImportFile:
    """Keep an uploaded business-figure file for preview (待确认)."""
    if not can_manage(actor):
        raise PermissionDenied()
    unit = orgunit_root_for(actor)
    if unit is None:
        raise PermissionDenied()
    return import_file_store(actor=actor, kind=KIND_FIGURES, unit=unit, upload=upload)


def figures_import_preview(*, record: ImportFile) -> Preview:
    return import_preview(
        record, columns=COLUMNS, check_row=figure_checker(actor=record.uploaded_by)
    )


def figures_import_confirm(*, actor, record: ImportFile) -> None:
    """Start a previewed import; the caller enqueues `business_figures_import_task`."""
    if not can_manage(actor):
        raise PermissionDenied()
    import_file_start(record=record, actor=actor)


def _run(record: ImportFile, table: Table, progress: Progress) -> ImportReport:
    return business_figures_import(
        actor=record.uploaded_by, table=table, progress=progress, source=record
    )


def figures_import_run(record_id: int) -> ImportFile:
    """The task's body: run a confirmed import and record its outcome on the ImportFile."""
    return import_file_run(record_id, columns=COLUMNS, run=_run)


# --- Computed by Minyi ----------------------------------------------------------------------


def _bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(period_start, time.min))
    end = timezone.make_aware(datetime.combine(period_end + timedelta(days=1), time.min))
    return start, end


def computed_counts(*, owner: OrgUnit, period_start: date, period_end: date, today=None):
    """{(unit id, code): (numerator, denominator)} of the computed figures for every unit of
    `owner`'s subtree with any data, one grouped query per source table."""
    today = today or timezone.localdate()
    start, end = _bounds(period_start, period_end)
    scope = owner.subtree_filter("unit__")
    out: dict[tuple[int, str], tuple[int, int]] = {}
    satisfied = sum((F(f"rating_{int(r)}") for r in SATISFIED_RATINGS[1:]), F("rating_1"))
    for r in (
        SatisfactionDaily.objects.filter(scope, day__gte=period_start, day__lte=period_end)
        .values("unit_id")
        .annotate(s=Sum(satisfied), n=Sum("replies"))
        .order_by()
    ):
        out[(r["unit_id"], BusinessCode.SURVEY_SATISFACTION)] = (r["s"] or 0, r["n"] or 0)
    done = Q(status=CallbackStatus.DONE)
    for r in (
        Callback.objects.filter(scope, due_at__gte=start, due_at__lt=end)
        .values("unit_id")
        .annotate(s=Count("id", filter=done & Q(completed_at__lte=F("due_at"))), n=Count("id"))
        .order_by()
    ):
        out[(r["unit_id"], BusinessCode.CALLBACK_ON_TIME)] = (r["s"], r["n"])
    cancelled = Q(status=WorkOrderStatus.CANCELLED)
    on_time = ~cancelled & Q(feedback_at__isnull=False, feedback_at__date__lte=F("deadline"))
    late = ~cancelled & (
        Q(feedback_at__isnull=False, feedback_at__date__gt=F("deadline"))
        | Q(feedback_at__isnull=True, deadline__lt=today, status__in=UNIT_STATUSES)
    )
    closed = Q(status=WorkOrderStatus.CLOSED)
    for r in (
        WorkOrder.objects.filter(scope, dispatched_at__gte=start, dispatched_at__lt=end)
        .values("unit_id")
        .annotate(
            on_time=Count("id", filter=on_time),
            late=Count("id", filter=late),
            closed=Count("id", filter=closed),
            resolved=Count("id", filter=closed & Q(resolved=True)),
        )
        .order_by()
    ):
        out[(r["unit_id"], BusinessCode.RECTIFICATION_ON_TIME)] = (
            r["on_time"],
            r["on_time"] + r["late"],
        )
        out[(r["unit_id"], BusinessCode.TRUE_RESOLUTION)] = (r["resolved"], r["closed"])
    for r in (
        Opinion.objects.filter(scope, submitted_at__gte=start, submitted_at__lt=end)
        .values("unit_id")
        .annotate(s=Count("id", filter=Q(answered_at__isnull=False)), n=Count("id"))
        .order_by()
    ):
        out[(r["unit_id"], BusinessCode.OPINION_REPLY)] = (r["s"], r["n"])
    return {key: value for key, value in out.items() if value[1] > 0}


@transaction.atomic
def business_figures_compute(
    *, owner: OrgUnit, period_start: date, period_end: date, actor=None, today=None
) -> int:
    """Compute Minyi's own business figures for every unit of `owner`'s subtree over the
    period and store them (replacing those computed before for the same period). Returns the
    number of figures stored."""
    if period_end < period_start:
        raise ApplicationError("period_reversed", _("截止日期早于起始日期。"), field="period_end")
    counts = computed_counts(
        owner=owner, period_start=period_start, period_end=period_end, today=today
    )
    BusinessFigure.objects.filter(
        owner.subtree_filter("unit__"),
        source=FigureSource.COMPUTED,
        period_start=period_start,
        period_end=period_end,
    ).delete()
    BusinessFigure.objects.bulk_create(
        BusinessFigure(
            unit_id=unit_id,
            code=code,
            period_start=period_start,
            period_end=period_end,
            numerator=s,
            denominator=n,
            source=FigureSource.COMPUTED,
        )
        for (unit_id, code), (s, n) in sorted(counts.items())
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=owner,
        detail={
            "business_figures_computed": len(counts),
            "period": [period_start.isoformat(), period_end.isoformat()],
        },
    )
    return len(counts)

"""The perception centre's figures per evaluator (访评员绩效): the page and its export (Excel or
CSV, audited). Thin: minyi.callbacks.evaluators reads and judges."""

import csv
import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from minyi.callbacks.evaluators import (
    RATE_LABELS,
    evaluator_figures_for,
    explanation_lines,
    figures_period_choices,
    figures_period_parse,
    figures_table,
)
from minyi.core.audit import audit_record
from minyi.core.models import AuditAction
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"xlsx", "csv"}


@staff_view(Perm.CENTRE_MANAGE)
def evaluator_figures(request):
    period = figures_period_parse(request.GET.get("period"))
    return render(
        request,
        "callbacks/evaluator_figures.html",
        {
            "figures": evaluator_figures_for(request.user, period),
            "choices": figures_period_choices(),
            "rate_labels": RATE_LABELS,
            "explanation": explanation_lines(),
        },
    )


def _xlsx(title: str, headers: list[str], rows: list[list], note: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, float) and cell.value <= 1 and cell.column > 5:
                cell.number_format = "0.0%"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # a name starting with "=" stays text
    sheet.append([])
    sheet.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(headers: list[str], rows: list[list], note: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        # A cell starting with =, +, - or @ would be a formula to a spreadsheet.
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
    writer.writerow([])
    writer.writerow([note])
    return out.getvalue().encode("utf-8-sig")  # Excel reads UTF-8 only with the BOM


@staff_view(Perm.CENTRE_MANAGE)
def evaluator_figures_export(request):
    """The page's table as Excel (default) or CSV, with the export in the audit log."""
    fmt = request.GET.get("format", "xlsx")
    fmt = fmt if fmt in FORMATS else "xlsx"
    period = figures_period_parse(request.GET.get("period"))
    figures = evaluator_figures_for(request.user, period)
    headers, rows = figures_table(figures)
    note = _("%(period)s；工作日 %(days)d 天；规则版本 %(v)s。") % {
        "period": period.label,
        "days": figures.working_days,
        "v": figures.rule_version,
    } + "".join(explanation_lines())
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=request.user.unit,
        detail={
            "table": "evaluator_figures",
            "format": fmt,
            "period": period.key,
            "rows": len(rows),
        },
    )
    if fmt == "csv":
        body, content_type = _csv(headers, rows, note), "text/csv; charset=utf-8"
    else:
        body, content_type = _xlsx(_("访评员绩效"), headers, rows, note), XLSX
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    # A small table, so a plain response (not streamed).
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        True, f"minyi-evaluators-{period.key}-{stamp}.{fmt}"
    )
    return response

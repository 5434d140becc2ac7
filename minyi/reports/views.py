"""The monthly reports (民意分析报告): the list a user may see, the PDF and Excel downloads
(audited), and a leader's request to (re)generate a month, handed to the task worker."""

from datetime import datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction
from minyi.core.periods import month_choices
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.reports.figures import month_start, previous_month
from minyi.reports.selectors import (
    report_get_visible,
    report_list_visible_to,
    report_unit_get,
    report_units_for,
)
from minyi.reports.tasks import monthly_report_generate_task

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"pdf": "application/pdf", "xlsx": XLSX}


def _ended_months() -> list[str]:
    """The months a report may be asked for: the last twelve that have ended."""
    return month_choices(today=previous_month(timezone.localdate()))


# The report holds the warnings issued (officers' names, replies, accountability): those who
# may read 三色预警 may read it.
@staff_view(Perm.WARNING_VIEW)
def report_list(request):
    reports = list(report_list_visible_to(request.user)[:240])
    can_generate = has_perm(request.user, Perm.DATA_EXPORT)
    return render(
        request,
        "reports/list.html",
        {
            "reports": reports,
            "can_generate": can_generate,
            "units": report_units_for(request.user) if can_generate else [],
            "months": _ended_months(),
        },
    )


@staff_view(Perm.WARNING_VIEW)
def download(request, pk, fmt):
    report = report_get_visible(request.user, pk)
    content = bytes(getattr(report, fmt))
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=report.unit,
        detail={"report": report.pk, "month": f"{report.month:%Y-%m}", "format": fmt},
    )
    response = HttpResponse(content, content_type=FORMATS[fmt])
    name = f"minyi-report-{report.unit.code or report.unit.pk}-{report.month:%Y-%m}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _month(value: str | None):
    if not value:
        return previous_month(timezone.localdate())
    try:
        month = datetime.strptime(value[:7], "%Y-%m").date()
        if month.year < 2000:
            raise ValueError(value)
    except ValueError:
        raise ApplicationError(
            "invalid_month", _("月份格式不正确，应如 2026-11。"), field="month"
        ) from None
    if month >= month_start(timezone.localdate()):
        raise ApplicationError("month_not_over", _("只能生成已结束月份的报告。"))
    return month


@staff_view(Perm.DATA_EXPORT)
@require_POST
def generate(request, unit_id):
    """Hand one unit's report for one ended month (default: last month) to the worker; an
    existing report of that month is made again."""
    unit = report_unit_get(request.user, unit_id)
    month = _month(request.POST.get("month"))
    monthly_report_generate_task.enqueue(
        unit_id=unit.pk, month=month.isoformat(), actor_id=request.user.pk
    )
    messages.success(
        request,
        _("已提交生成 %(unit)s %(month)s 的报告，通常一两分钟内完成，刷新本页即可下载。")
        % {"unit": unit.name, "month": f"{month:%Y-%m}"},
    )
    return redirect("reports:report_list")

"""Staff pages of the three colours (三色管理) and incidents (警情): the monthly colour report
with its PDF and Excel, the recompute, the incident import and an area's incidents. Thin:
selectors read (scoped to the user's subtree), services write."""

import io
from datetime import date, datetime

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.community.access import GRID_MANAGE, GRID_VIEW, INCIDENT_LOCATION
from minyi.community.colour_report import (
    COLOUR_HEX,
    colour_report_pdf,
    colour_report_xlsx,
    effort_lines,
)
from minyi.community.colours import (
    RULE_VERSION,
    colour_report_for,
    colours_bureau_for,
    colours_compute,
    colours_compute_all,
    confidence_lines,
    month_add,
    month_start,
    rule_lines,
)
from minyi.community.incidents import (
    COLUMNS,
    incident_counts,
    incident_points_visible_to,
    incidents_import,
)
from minyi.community.selectors import area_get_visible_to
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.imports import ImportFileForm
from minyi.core.models import AuditAction
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import has_perm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month_param(text: str | None) -> date | None:
    """ "2026-11" (the month picker's value) or None."""
    if not text:
        return None
    try:
        return datetime.strptime(text[:7], "%Y-%m").date()
    except ValueError:
        raise ApplicationError(
            "invalid_month", _("月份格式不正确，应如 2026-11。"), field="month", status=400
        ) from None


@staff_view(GRID_VIEW)
def colour_report(request):
    month = _month_param(request.GET.get("month"))
    report = colour_report_for(request.user, month)
    last_month = month_add(month_start(timezone.localdate()), -1)
    return render(
        request,
        "community/colour_report.html",
        {
            "report": report,
            "rule_lines": rule_lines(),
            "confidence_lines": confidence_lines(),
            "effort_lines": effort_lines(report),
            "rule_version": RULE_VERSION,
            "colour_hex": COLOUR_HEX,
            "can_manage": has_perm(request.user, GRID_MANAGE),
            "recompute_month": report.month or last_month,
        },
    )


def _download(request, *, fmt: str):
    month = _month_param(request.GET.get("month"))
    report = colour_report_for(request.user, month)
    stamp = report.month.strftime("%Y%m") if report.month else "none"
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=request.user.unit,
        detail={"table": "community_colours", "format": fmt, "month": stamp},
    )
    if fmt == "pdf":
        body, content_type = colour_report_pdf(report), "application/pdf"
    else:
        body, content_type = colour_report_xlsx(report), XLSX
    return FileResponse(
        io.BytesIO(body),
        as_attachment=True,
        filename=f"minyi-colours-{stamp}.{fmt}",
        content_type=content_type,
    )


@staff_view(GRID_VIEW)
def colour_report_pdf_view(request):
    return _download(request, fmt="pdf")


@staff_view(GRID_VIEW)
def colour_report_xlsx_view(request):
    return _download(request, fmt="xlsx")


@require_POST
@staff_view(GRID_MANAGE)
def colour_recompute(request):
    """Recompute a month's colours. The city rate needs every community of the city, so the
    whole city is computed; the numbers are a function of the data alone, so whoever starts
    it gets the same rows, and the page shows only the user's own communities."""
    month = _month_param(request.POST.get("month")) or month_add(
        month_start(timezone.localdate()), -1
    )
    if request.user.unit_id is not None:
        colours_compute(colours_bureau_for(request.user.unit), month)
    else:
        colours_compute_all(month)
    audit_record(
        action=AuditAction.CHANGE,
        request=request,
        obj=request.user.unit,
        detail={"recompute": "community_colours", "month": month.strftime("%Y-%m")},
    )
    messages.success(request, _("已重新计算 %(month)s 的颜色。") % {"month": f"{month:%Y-%m}"})
    return redirect(f"{reverse('community:colour_report')}?month={month:%Y-%m}")


@staff_view(GRID_MANAGE)
def incident_import(request):
    form = ImportFileForm(request.POST or None, request.FILES or None, columns=COLUMNS)
    report = None
    if request.method == "POST" and form.is_valid():
        report = incidents_import(actor=request.user, table=form.cleaned_data["file"])
        if report.stored:
            audit_record(
                action=AuditAction.CREATE,
                request=request,
                obj=request.user.unit,
                detail={"import": "incidents", "rows": len(report.results)},
            )
    return render(
        request,
        "community/incident_import.html",
        {"form": form, "report": report, "columns": COLUMNS},
        status=400 if report is not None and not report.stored else 200,
    )


@staff_view(GRID_VIEW)
def incident_list(request, pk):
    """An area's incidents: counts by month and category for every grid viewer; the exact
    times and places only with INCIDENT_LOCATION."""
    area = area_get_visible_to(request.user, pk)
    last_month = _month_param(request.GET.get("month")) or month_start(timezone.localdate())
    counts = incident_counts(request.user, area, last_month=last_month)
    can_locate = has_perm(request.user, INCIDENT_LOCATION)
    page = page_of(request, incident_points_visible_to(request.user, area)) if can_locate else None
    return render(
        request,
        "community/incident_list.html",
        {"area": area, "counts": counts, "can_locate": can_locate, "page": page},
    )

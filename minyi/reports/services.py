"""Generating the monthly report (民意分析报告): collect the figures, draw the PDF and the
workbook, keep them. On the first working day of a month (China's calendar, with the
administrators' overrides: minyi.core.workdays) the schedule makes last month's report for
the city bureau and every bureau directly under it; a leader may ask for any ended month
again."""

import logging
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.workdays import WorkCalendar
from minyi.orgs.models import OrgUnit
from minyi.reports.figures import (
    ReportScope,
    bureaus,
    month_start,
    monthly_figures,
    previous_month,
)
from minyi.reports.models import MonthlyReport
from minyi.reports.pdf import report_pdf
from minyi.reports.xlsx import report_xlsx

logger = logging.getLogger(__name__)

# Not before this hour (local) of the first working day: the night's rollups and the last
# day's late replies are in by then.
START_HOUR = 6


def first_working_day(month: date) -> date:
    """The first working day (工作日) of `month`: after New Year, the National Day week or a
    weekend, it may be days into the month."""
    start = month_start(month)
    calendar = WorkCalendar(start, start + timedelta(days=20))
    day = start
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def monthly_report_generate(*, unit: OrgUnit, month: date, actor=None, now=None) -> MonthlyReport:
    """Make (or make again) `unit`'s report for `month` (any day of it), read as a staff
    account of `unit` reads the dashboard. Only a month that has ended has a report."""
    now = now or timezone.now()
    month = month_start(month)
    if month >= month_start(timezone.localdate(now)):
        raise ApplicationError("month_not_over", _("只能生成已结束月份的报告。"))
    figures = monthly_figures(ReportScope(unit), unit, month, now=now)
    report, _created = MonthlyReport.objects.update_or_create(
        unit=unit,
        month=month,
        defaults={
            "generated_at": now,
            "generated_by": actor if actor is not None and actor.pk else None,
            "figures": figures,
            "pdf": report_pdf(figures),
            "xlsx": report_xlsx(figures),
        },
    )
    return report


def monthly_reports_due(*, now=None) -> dict:
    """Last month's report for every bureau that has none yet, once this month's first
    working day has come (from START_HOUR; a day the worker missed is made up the next day).
    Idempotent: a report that exists is never made again here."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = previous_month(today)
    first = first_working_day(today)
    if today < first or (today == first and timezone.localtime(now).hour < START_HOUR):
        return {"month": f"{month:%Y-%m}", "due": False, "generated": []}
    done = set(MonthlyReport.objects.filter(month=month).values_list("unit_id", flat=True))
    generated = []
    failed = []
    for unit in bureaus():
        if unit.pk in done:
            continue
        try:
            monthly_report_generate(unit=unit, month=month, now=now)
        except Exception:  # one bureau's failure must not keep the others' reports back
            logger.exception("monthly report of unit %s for %s failed", unit.pk, month)
            failed.append(unit.pk)
            continue
        generated.append(unit.pk)
    return {"month": f"{month:%Y-%m}", "due": True, "generated": generated, "failed": failed}

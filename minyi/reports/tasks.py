"""Background work for the monthly report: the daily check that makes last month's reports
on the first working day (settings.WORKER_SCHEDULE), and a leader's request for one month."""

from datetime import date

from django_tasks import task

from minyi.core.errors import ApplicationError
from minyi.orgs.models import OrgUnit, User
from minyi.reports.services import monthly_report_generate, monthly_reports_due


@task()
def monthly_reports_task() -> dict:
    """Last month's report for each bureau still without one, from the first working day."""
    return monthly_reports_due()


@task()
def monthly_report_generate_task(unit_id: int, month: str, actor_id: int | None = None) -> dict:
    """One unit's report for one month (ISO date of any day of it), made again if it exists."""
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return {"generated": False, "code": "no_unit"}
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        report = monthly_report_generate(unit=unit, month=date.fromisoformat(month), actor=actor)
    except ApplicationError as exc:
        return {"generated": False, "code": exc.code}
    return {"generated": True, "report": report.pk}

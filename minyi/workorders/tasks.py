"""Background work for work orders: deadline reminders and escalation, run by
`manage.py worker` on settings.WORKER_SCHEDULE."""

from django_tasks import task

from minyi.workorders.services import workorders_escalate_overdue, workorders_remind_due


@task()
def workorders_remind_task() -> dict:
    return {"orders_reminded": workorders_remind_due()}


@task()
def workorders_escalate_task() -> dict:
    return {"orders_escalated": workorders_escalate_overdue()}

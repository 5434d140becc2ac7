"""Background work for mobile service appointments (移动办证): the job `manage.py worker` runs
on settings.WORKER_SCHEDULE. Each returns its counts."""

from django_tasks import task

from minyi.appointments.services import reminders_send_due


@task()
def appointment_reminders_task() -> dict:
    """The day-before SMS reminder of confirmed visits, once per appointment. Run every few
    minutes: an appointment confirmed late on the day before is still reminded."""
    return {"reminded": reminders_send_due()}

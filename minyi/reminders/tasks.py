"""Background work for service reminders (办事提醒): the job `manage.py worker` runs on
settings.WORKER_SCHEDULE."""

from django_tasks import task

from minyi.reminders.sending import reminders_send_due


@task()
def reminders_send_due_task() -> dict:
    """Decide the reminders due now and put them in the outbox. Run every few minutes: a
    decided reminder is never decided again, and several workers may run it at once."""
    return reminders_send_due()

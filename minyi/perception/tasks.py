"""Background work for the perception loop: the sweeps `manage.py worker` runs on
settings.WORKER_SCHEDULE. Each returns its counts; a sweep that found work runs again at once."""

from django.conf import settings
from django_tasks import task

from minyi.perception.services.replies import inbound_process_pending
from minyi.perception.services.surveys import (
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)


@task()
def surveys_schedule_task() -> dict:
    """Decide the new service events: a survey, or why not."""
    return {"scheduled": surveys_schedule_pending()}


@task()
def surveys_dispatch_task() -> dict:
    """Put the surveys that are due in the outbox, `SURVEY_DISPATCH_BATCH` a run: the sender
    starts on the first ones while the next are prepared (a run that found work runs again at
    once)."""
    return {"dispatched": surveys_dispatch_due(limit=settings.SURVEY_DISPATCH_BATCH)}


@task()
def surveys_remind_task() -> dict:
    """Remind citizens who have not answered, and expire surveys nobody answered."""
    return surveys_remind_and_expire()


@task()
def inbound_process_task() -> dict:
    """Read one batch of stored replies: attach ratings, honour opt-outs, route the rest to
    the SMS inbox. Runs again at once while it finds replies."""
    return {"inbound": inbound_process_pending()}

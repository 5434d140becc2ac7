"""Background work for the SMS outbox: sending and recovering, run by `manage.py worker` on
settings.WORKER_SCHEDULE."""

from django.conf import settings
from django_tasks import task

from minyi.integrations.sms.backends import get_backend
from minyi.integrations.sms.services import outbox_recover, outbox_send_batch

MAX_PER_RUN = 10_000  # then the run ends, and the next one starts at once


@task()
def outbox_send_task(batch: int | None = None) -> dict:
    """Send what is due, batch after batch, until the outbox is empty; each batch is
    claimed with SKIP LOCKED, so several workers send side by side."""
    backend = get_backend()
    batch = batch or settings.SMS_SEND_BATCH
    sent = 0
    while sent < MAX_PER_RUN and (claimed := outbox_send_batch(backend=backend, limit=batch)):
        sent += claimed
    return {"sent": sent}


@task()
def outbox_recover_task() -> dict:
    """Resolve the messages a killed sender left behind."""
    return outbox_recover()

"""Background work for the SMS outbox: sending and recovering, run by `manage.py worker` on
settings.WORKER_SCHEDULE."""

from django.conf import settings
from django_tasks import task

from minyi.integrations.sms.backends import get_backend
from minyi.integrations.sms.services import SendTiming, outbox_recover, outbox_send_stream
from minyi.integrations.sms.stream import outbox_send_in_background

MAX_PER_RUN = 10_000  # then the run ends, and the next one starts at once


@task()
def outbox_send_task(batch: int | None = None) -> dict:
    """Send what is due; messages are claimed with SKIP LOCKED, so several workers send side
    by side. A gateway over the network is sent to from a thread that keeps going while the
    worker runs its other tasks (minyi.integrations.sms.stream); the console backend, which
    answers at once, is sent to here. Says what went out and where the time went."""
    if settings.SMS_BACKEND != "console":
        return outbox_send_in_background(batch=batch)
    timing = SendTiming()
    sent = outbox_send_stream(backend=get_backend(), limit=MAX_PER_RUN, batch=batch, timing=timing)
    return {"sent": sent, "timing": timing.as_dict()} if sent else {"sent": 0}


@task()
def outbox_recover_task() -> dict:
    """Resolve the messages a killed sender left behind."""
    return outbox_recover()

"""The perception loop's worker: decides surveys, puts due ones in the outbox, sends the
outbox, reminds and expires, and recovers what a killed sender left behind.

Run as many as the load needs (on PostgreSQL they claim work with SKIP LOCKED, so no two do
the same thing); `make run` starts one.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand

from minyi.integrations.sms.backends import get_backend
from minyi.integrations.sms.services import outbox_recover, outbox_send_batch
from minyi.perception.services import (
    inbound_process_pending,
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)

log = logging.getLogger(__name__)


STEPS = {
    "scheduled": surveys_schedule_pending,
    "dispatched": surveys_dispatch_due,
    "reminders": surveys_remind_and_expire,
    "recovered": outbox_recover,
    "inbound": inbound_process_pending,
}


def run_once(backend, *, batch: int = 200) -> dict:
    """One pass over every step. A step that fails is logged and retried next pass; it never
    stops the others (a gateway outage must not stop surveys being decided, and so on)."""
    done = {}
    for name, step in STEPS.items():
        try:
            result = step()
        except Exception:
            log.exception("perception worker: step %s failed; retrying next pass", name)
            continue
        done.update(result if isinstance(result, dict) else {name: result})
    sent = 0
    try:
        while (claimed := outbox_send_batch(backend=backend, limit=batch)) and sent < 10_000:
            sent += claimed
    except Exception:
        log.exception("perception worker: sending failed; retrying next pass")
    done["sent"] = sent
    return done


class Command(BaseCommand):
    help = "Run the survey scheduler and SMS sender loop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes")
        parser.add_argument("--batch", type=int, default=200, help="messages claimed at a time")

    def handle(self, *args, once, interval, batch, **options):
        backend = get_backend()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"perception worker: SMS via {backend.name}")
        while not stopping:
            done = run_once(backend, batch=batch)
            if any(done.values()):
                self.stdout.write(" ".join(f"{k}={v}" for k, v in done.items() if v))
            if once:
                break
            if not any(done.values()):
                time.sleep(interval)  # idle; with a backlog, go straight on

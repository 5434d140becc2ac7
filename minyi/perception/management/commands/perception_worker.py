"""The perception loop's worker: decides surveys, puts due ones in the outbox, sends the
outbox, reminds and expires, recovers what a killed sender left behind, and moves work
orders and citizens' opinions on (deadline reminders, escalation of overdue ones, closing
answers nobody rated).

Run as many as the load needs (on PostgreSQL they claim work with SKIP LOCKED, so no two do
the same thing); `make run` starts one.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand

from minyi.integrations.sms.backends import get_backend
from minyi.integrations.sms.services import outbox_recover, outbox_send_batch
from minyi.opinions.services import opinions_sweep
from minyi.perception.services import (
    inbound_process_pending,
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)
from minyi.workorders.services import workorders_escalate_overdue, workorders_remind_due

log = logging.getLogger(__name__)


STEPS = {
    "scheduled": surveys_schedule_pending,
    "dispatched": surveys_dispatch_due,
    "reminders": surveys_remind_and_expire,
    "recovered": outbox_recover,
    "inbound": inbound_process_pending,
    "orders_reminded": workorders_remind_due,
    "orders_escalated": workorders_escalate_overdue,
    "opinions": lambda: {f"opinions_{k}": v for k, v in opinions_sweep().items() if v},
}


def _warnings():
    from minyi.earlywarning.services import warnings_compute

    summary = warnings_compute()
    return {k: v for k, v in summary.items() if k.endswith(("_red", "_orange")) and v}


def _tagger():
    from minyi.core.errors import ApplicationError
    from minyi.insight.services import tagger_train

    try:
        return {"tagger_version": tagger_train().version}
    except ApplicationError:  # too few confirmed tags yet
        return {}


def _portal_housekeeping():
    from minyi.portal.services import otp_redact_sent, throttle_purge

    done = {"throttle_purged": throttle_purge(), "otp_redacted": otp_redact_sent()}
    return {k: v for k, v in done.items() if v}


def _rollups():
    from minyi.dashboards.rollups import dashboard_rollups_refresh

    dashboard_rollups_refresh()
    return {}


def _rollups_full():
    from minyi.dashboards.rollups import dashboard_rollups_refresh

    dashboard_rollups_refresh(full=True)
    return {}


# Slower jobs, each at most once per period (seconds) per worker process. With several
# workers they may each run them; all are idempotent (dashboard rollups are recomputed, a
# warning row is written only when a colour changes, a tagger model is kept only if it does
# no worse than the rules). The full rollup rebuild picks up appeals upheld long after the
# contact; in production run it (and the others) from cron at night instead: docs/deployment.md.
# (job, period in seconds, run at start): the daily jobs wait a day after a (re)start.
PERIODIC = {
    "rollups": (_rollups, 300, True),
    "portal": (_portal_housekeeping, 300, True),
    "warnings": (_warnings, 3600, True),
    "tagger": (_tagger, 24 * 3600, False),
    "rollups_full": (_rollups_full, 24 * 3600, False),
}
_last_run: dict[str, float] = {}


def run_periodic(now: float | None = None) -> dict:
    now = time.monotonic() if now is None else now
    done = {}
    for name, (job, period, at_start) in PERIODIC.items():
        _last_run.setdefault(name, now - period if at_start else now)
        if now - _last_run[name] < period:
            continue
        _last_run[name] = now
        try:
            done.update(job())
        except Exception:
            log.exception("perception worker: periodic job %s failed", name)
    return done


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
            if not once:
                periodic = run_periodic()
                if periodic:
                    self.stdout.write(" ".join(f"{k}={v}" for k, v in periodic.items()))
            if any(done.values()):
                self.stdout.write(" ".join(f"{k}={v}" for k, v in done.items() if v))
            if once:
                break
            if not any(done.values()):
                time.sleep(interval)  # idle; with a backlog, go straight on

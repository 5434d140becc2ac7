"""`manage.py dashboard_rollups`: keep the dashboards' rollups current.

Run it every few minutes (`--interval 300` keeps it running), and once a night with `--full`,
which rebuilds the satisfaction rollups over every day (an appeal may be upheld long after
the contact it is about).
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand

from minyi.dashboards.rollups import dashboard_rollups_refresh

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Refresh the dashboards' rollups (satisfaction, callbacks and reasons, 跑多次)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="rebuild over all days")
        parser.add_argument(
            "--interval", type=float, default=0, help="seconds between passes; 0: one pass"
        )

    def handle(self, *args, full, interval, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            started = time.monotonic()
            try:
                result = dashboard_rollups_refresh(full=full)
            except Exception:
                if not interval:
                    raise
                log.exception("dashboard rollups: refresh failed; retrying next pass")
            else:
                took = time.monotonic() - started
                self.stdout.write(
                    " ".join(f"{k}={v}" for k, v in result.items()) + f" ({took:.1f} s)"
                )
            full = False  # a long-running loop rebuilds everything at most once
            if not interval:
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(1.0, interval))
            if stopping:
                break

"""`manage.py demo_traffic`: keep the demo city's perception loop moving. Every tick a few
contacts happen "now" and a few citizens answer their survey SMS (through the gateway path);
the worker (`manage.py worker`) sends the surveys, as in production. Demo mode only."""

import random
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from minyi.demo.contacts import DemoHistoryError
from minyi.demo.traffic import traffic_tick


class Command(BaseCommand):
    help = "Simulate citizens in the demo city: new contacts and SMS answers every few seconds."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=20.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument("--seed", type=int, default=None, help="random seed (default: clock)")

    def handle(self, *args, interval, once, seed, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "demo_traffic writes synthetic data; it runs only with MINYI_DEMO_MODE=true."
            )
        rng = random.Random(seed if seed is not None else time.time_ns())  # noqa: S311
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"demo traffic: a tick every {interval:g}s")
        try:
            while not stopping:
                try:
                    done = traffic_tick(rng=rng)
                except DemoHistoryError as exc:
                    raise CommandError(str(exc)) from exc
                except OperationalError as exc:  # e.g. SQLite busy: try again next tick
                    self.stderr.write(f"tick skipped: {exc}")
                    done = {}
                self.stdout.write(" ".join(f"{k}={v}" for k, v in sorted(done.items())))
                if once:
                    break
                deadline = time.monotonic() + interval
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("demo traffic stopped")

"""`manage.py compute_warnings`: recompute every officer's and unit's three-colour warning.

Run nightly (cron or a systemd timer, e.g. 02:30), or `--enqueue` to hand it to the task
worker instead.
"""

from django.core.management.base import BaseCommand

from minyi.warnings.services import WINDOW_DAYS, warnings_compute
from minyi.warnings.tasks import compute_warnings_task


class Command(BaseCommand):
    help = "Compute three-colour warnings (三色预警) for all officers and units."

    def add_arguments(self, parser):
        parser.add_argument(
            "--window-days", type=int, default=WINDOW_DAYS, help="days of ratings to read"
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="queue the task for the worker and return"
        )

    def handle(self, *args, window_days, enqueue, **options):
        if enqueue:
            result = compute_warnings_task.enqueue(window_days=window_days)
            self.stdout.write(f"compute_warnings: queued task {result.id}")
            return
        summary = warnings_compute(window_days=window_days)
        self.stdout.write("compute_warnings: " + " ".join(f"{k}={v}" for k, v in summary.items()))

"""`manage.py demo_history`: give the demo city 90 days of satisfaction history, once."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.core.errors import ApplicationError
from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import DemoHistoryError
from minyi.demo.history import build_history, history_exists, history_figures, summary_line
from minyi.demo.workorders import work_callbacks
from minyi.insight.services import tagger_train
from minyi.warnings.services import warnings_compute


class Command(BaseCommand):
    help = (
        "Write the demo city's satisfaction history (contacts, surveys, answers and callbacks "
        "of the last DAYS days, produced by the real perception services). Does nothing if "
        "the history exists already. Demo mode only; run demo_city first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--events-per-day",
            type=int,
            default=None,
            help="contacts per day (default: ~600–900, fewer at weekends)",
        )

    def handle(self, *args, days, seed, events_per_day, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "demo_history writes synthetic data; it runs only with MINYI_DEMO_MODE=true."
            )
        if history_exists():
            self.stdout.write(
                "Demo history exists already; nothing was written. "
                + summary_line(history_figures())
            )
            return
        verbosity = options["verbosity"]
        if verbosity:
            self.stderr.write(
                f"Writing {days} days of demo history through the perception services "
                "(a few minutes for 90 days)…"
            )

        def progress(day, total):
            if verbosity > 1 and day % 10 == 0:
                self.stderr.write(f"  day {day}/{total}")

        try:
            figures = build_history(
                days=days, seed=seed, events_per_day=events_per_day, progress=progress
            )
        except DemoHistoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo history of {days} days written in {figures['seconds']:.1f}s: "
                + summary_line(figures)
            )
        )
        # The evaluators, units and supervisors then work what the history opened.
        worked = work_callbacks(seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staff worked {worked['callbacks']} callbacks; "
                f"{worked['orders']} work orders moved on ({worked['closed']} closed, "
                f"{worked['appeals']} appealed)."
            )
        )
        # The reason tagger learns from the tags the demo evaluators confirmed.
        try:
            model = tagger_train()
        except ApplicationError as exc:
            self.stdout.write(f"Reason tagger not trained: {exc.message}")
        else:
            state = "active" if model.is_active else "kept inactive"
            self.stdout.write(f"Reason tagger v{model.version} trained ({state}).")
        # Three-colour warnings from the history, so 三色预警 is not empty until the worker's
        # first daily run.
        self.stdout.write(f"Warnings computed: {warnings_compute()}.")

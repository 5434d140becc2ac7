"""`manage.py demo_assessment`: the demo city's polls and annual assessment, once."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.assessment import build_assessment_demo, summary_line
from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import DemoHistoryError


class Command(BaseCommand):
    help = (
        "Write the demo city's polls (imported waves and one being collected), business "
        "figures, assessment rules, two assessments with their accountability case, and the "
        "chiefs' tenures, through the real services. Does nothing if they exist. Demo mode "
        "only; run demo_city (and demo_history, demo_portal for the cases' reasons) first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")

    def handle(self, *args, seed, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_assessment writes synthetic data; it runs only in demo mode.")
        try:
            demo = build_assessment_demo(seed=seed)
        except DemoHistoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(summary_line(demo)) if demo.created else summary_line(demo)
        )

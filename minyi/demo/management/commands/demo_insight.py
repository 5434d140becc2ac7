"""`manage.py demo_insight`: tag every citizen text of the demo city, confirm a share the way
evaluators and handlers would, seed an emerging topic and train the reason tagger."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.insight import build_insight_demo


class Command(BaseCommand):
    help = (
        "Case complaints on the demo cases, an emerging topic (electric-bike batteries stolen "
        "at one station), every citizen text tagged, a share confirmed, the tagger trained. "
        "Adds only what is missing; run after the other demo commands. Demo mode only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args, seed, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_insight writes synthetic data; it runs only in demo mode.")
        demo = build_insight_demo(seed=seed)
        self.stdout.write(self.style.SUCCESS(demo.summary()))

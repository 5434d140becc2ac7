"""`manage.py demo_votes`: the demo city's vote campaigns (票选), once."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import DemoHistoryError
from minyi.demo.votes import build_votes_demo, summary_line


class Command(BaseCommand):
    help = (
        "Write the demo city's vote campaigns through the real services: the published "
        "public-benefit actions vote (online and paper ballots, stuffing reviews, the chosen "
        "actions' progress), an open station PK and a draft. Does nothing if they exist. Demo "
        "mode only; run demo_city (and demo_portal, for proposals from citizens' suggestions) "
        "first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")

    def handle(self, *args, seed, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_votes writes synthetic data; it runs only in demo mode.")
        try:
            demo = build_votes_demo(seed=seed)
        except DemoHistoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(summary_line(demo)) if demo.created else summary_line(demo)
        )

"""`manage.py demo_community`: the demo city's community safety data (社区安全), once."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.community import build_community_demo, summary_line
from minyi.demo.contacts import DemoHistoryError


class Command(BaseCommand):
    help = (
        "Write the demo city's community safety data: the grid of every police station "
        "(communities, resident groups, buildings, road segments, key segments and areas), 14 "
        "months of populations and incidents, community officers and their duty lists, visits, "
        "subscriptions and sent notices, 2 days of patrol pings and check-ins; then the "
        "colours of the last 3 months and the patrol passes, by the real services. Does "
        "nothing if the demo city has a grid already (--rebuild rewrites it). Demo mode only; "
        "run demo_city first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="remove the demo city's community data first and write it again (for now)",
        )
        parser.add_argument(
            "--station",
            action="append",
            dest="stations",
            metavar="CODE",
            help="only this police station (unit code; repeatable)",
        )

    def handle(self, *args, seed, rebuild, stations, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_community writes synthetic data; it runs only in demo mode.")
        try:
            demo = build_community_demo(seed=seed, stations=stations, rebuild=rebuild)
        except DemoHistoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(summary_line(demo)) if demo.created else summary_line(demo)
        )

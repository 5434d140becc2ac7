"""`manage.py demo_portal`: the citizen portal's demo opinions, tips, rewards and cases, once."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.portal import build_portal_demo, portal_demo_exists


class Command(BaseCommand):
    help = (
        "Write 30 days of citizen opinions (answered, rated, tips rewarded) and cases with "
        "progress, through the real services. Does nothing if they exist. Demo mode only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args, seed, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_portal writes synthetic data; it runs only in demo mode.")
        if portal_demo_exists():
            self.stdout.write("Portal demo data exists already; nothing was written.")
            return
        figures = build_portal_demo(seed=seed)
        number, id_number = figures["sample"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Portal demo: {figures['opinions']} opinions ({figures['answered']} answered, "
                f"{figures['rated']} rated, {figures['rewards']} tip rewards), "
                f"{figures['cases']} cases."
            )
        )
        self.stdout.write(
            f"Try a case lookup at /c/cases/ with case number {number} and ID number "
            f"{id_number} (demo data); the code arrives on 模拟手机."
        )

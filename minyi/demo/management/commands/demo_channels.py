"""`manage.py demo_channels`: the demo city's channels beyond the online form (issue 17), once
each: offline opinions, meetings and the 110直播室, service reminders, mobile service
appointments, volunteers and partners, the 跑多次 rules with their referrals, and a
perception centre with several evaluators to compare."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minyi.demo import (
    appointments,
    evaluators,
    meetings,
    offline,
    reminders,
    repeats,
    volunteers,
)

PARTS = [
    ("offline", offline.load),
    ("meetings", meetings.load),
    ("reminders", reminders.load),
    ("appointments", appointments.load),
    ("volunteers", volunteers.load),
    ("repeats", repeats.load),
    ("evaluators", evaluators.load),
]


class Command(BaseCommand):
    help = (
        "Write the demo city's data for every channel into one flow: offline opinions keyed in "
        "from the mailbox, petitions and phones; meetings (恳谈会, 广场警务活动日, 110直播室) with "
        "their questions and minutes; service reminders; mobile service appointments; "
        "volunteers, partners and activities; the 跑多次 rules and their referrals. Each part "
        "does nothing when its data exists already. Demo mode only; run demo_city, "
        "demo_history and demo_community first."
    )

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_channels writes synthetic data; it runs only in demo mode.")
        now = timezone.now()
        for name, load in PARTS:
            result = load(now=now)
            self.stdout.write(f"{name}: {result}")

"""`manage.py purge_personal_data [--dry-run] [--now ISO]`: apply the retention periods now
(the worker does it daily); prints one line per holding, never any personal data."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from minyi.privacy.services import personal_data_purge


class Command(BaseCommand):
    help = "Delete or pseudonymise personal data past its retention period (docs/security.md)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count only, change nothing")
        parser.add_argument("--now", help="the moment to apply the periods at (ISO 8601)")

    def handle(self, *args, dry_run=False, now=None, **options):
        moment = None
        if now:
            moment = parse_datetime(now)
            if moment is None:
                raise CommandError(f"--now: not an ISO 8601 date and time: {now!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        results = personal_data_purge(
            now=moment, dry_run=dry_run, job="manage.py purge_personal_data"
        )
        for r in results:
            self.stdout.write(
                f"{r.holding:<48} {r.action:<11} {r.period_days:>5} d  "
                f"before {r.cutoff:%Y-%m-%d}  {r.rows} rows"
            )
        total = sum(r.rows for r in results)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"purge: {verb} {total} rows in {len(results)} holdings")

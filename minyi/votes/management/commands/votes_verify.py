"""`manage.py votes_verify [--campaign CODE]`: check every campaign's hash chain (存证链).

Prints one line per campaign, "OK n entries, head …" or the first failing seq and the
problem, and exits with status 1 when any chain fails.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minyi.votes.chain import chain_verify
from minyi.votes.models import Campaign


class Command(BaseCommand):
    help = "Verify the votes hash chains (存证链) against their rows and published heads."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", default="", help="one campaign's code (default: all)")

    def handle(self, *args, campaign, **options):
        campaigns = Campaign.objects.order_by("id")
        if campaign:
            campaigns = campaigns.filter(code=campaign)
            if not campaigns.exists():
                raise CommandError(f"no campaign with code {campaign!r}")
        failures = 0
        for item in campaigns:
            report = chain_verify(item)
            if report.ok:
                head = report.head_checked
                published = "no head published"
                if head:
                    when = timezone.localtime(head.published_at)
                    published = (
                        f"head #{head.seq} {head.hash[:16]}… published {when:%Y-%m-%d %H:%M}"
                    )
                self.stdout.write(f"{item.code}: OK {report.entries} entries, {published}")
            else:
                failures += 1
                self.stdout.write(
                    f"{item.code}: FAILED at seq {report.failed_seq}: {report.problem}"
                )
        if failures:
            self.stderr.write(f"votes_verify: {failures} chain(s) failed")
            sys.exit(1)

"""`manage.py votes_publish_heads`: publish today's chain head (存证链公布值) of every open or
closed campaign that has none today. Run daily (cron or the task worker)."""

from django.core.management.base import BaseCommand

from minyi.votes.chain import heads_publish_due


class Command(BaseCommand):
    help = "Publish today's hash-chain head of every open or closed vote campaign."

    def handle(self, *args, **options):
        self.stdout.write(f"votes_publish_heads: {heads_publish_due()} new head(s)")

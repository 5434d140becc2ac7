"""Background work for votes (票选): the jobs `manage.py worker` runs on
settings.WORKER_SCHEDULE. Each returns its counts."""

from django.utils import timezone
from django_tasks import task

from minyi.votes.campaigns import campaigns_close_due
from minyi.votes.chain import heads_publish_due
from minyi.votes.models import Campaign, CampaignStatus
from minyi.votes.stuffing import stuffing_detect


@task()
def votes_close_due_task() -> dict:
    """Close the campaigns whose closing time has passed (voting already stops at that time;
    this moves the status and publishes the chain head)."""
    return {"closed": campaigns_close_due()}


@task()
def votes_heads_publish_task() -> dict:
    """Publish each open or closed campaign's chain head once a day (存证链每日公布)."""
    return {"published": heads_publish_due()}


@task()
def votes_stuffing_detect_task() -> dict:
    """Look for stuffing in every campaign still being counted; flags wait for a person
    (ballots are never removed). Safe to run repeatedly: one flag per group."""
    now = timezone.now()
    flags = 0
    for campaign in Campaign.objects.filter(
        status__in=[CampaignStatus.OPEN, CampaignStatus.CLOSED]
    ):
        flags += len(stuffing_detect(campaign, now=now))
    return {"flags": flags}

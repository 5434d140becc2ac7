"""Test data for votes: a campaign with its options, written straight to the tables (the
staff services are tested on their own), open now unless told otherwise."""

from datetime import timedelta

from django.utils import timezone

from minyi.orgs.choices import Role
from minyi.votes.models import Campaign, CampaignKind, CampaignStatus, Option

_counter = iter(range(1, 10**9))


def make_campaign(
    world,
    *,
    unit=None,
    kind=CampaignKind.APPROVAL,
    options=5,
    max_choices=3,
    status=CampaignStatus.OPEN,
    opens_at=None,
    closes_at=None,
    **extra,
) -> Campaign:
    """A campaign organised by `unit` (station a2 by default) with `options` numbered options,
    open from an hour ago for a week."""
    unit = unit or world.station_a2
    now = timezone.now()
    n = next(_counter)
    campaign = Campaign.objects.create(
        unit=unit,
        code=extra.pop("code", f"t{n}"),
        title=extra.pop("title", f"测试投票{n}"),
        kind=kind,
        max_choices=1 if kind == CampaignKind.SINGLE else max_choices,
        opens_at=opens_at or now - timedelta(hours=1),
        closes_at=closes_at or now + timedelta(days=7),
        status=status,
        created_by=world.user("a2", Role.SUPERVISOR),
        **extra,
    )
    Option.objects.bulk_create(
        Option(campaign=campaign, number=i, title=f"候选项目{i}", text=f"项目{i}的介绍")
        for i in range(1, options + 1)
    )
    return campaign

"""Permission-matrix cases: actions pages of votes (惠民实事落实). The owner is a plan made
from an option of a published campaign organised by station a2, carried out by station a2; a
sibling station's staff must neither list nor open it. The citizen pages (votes_public) are
outside the matrix and tested in test_action_public.py.

Milestones and updates are posted to URLs open to VOTE_VIEW: the service lets the responsible
unit's leader (ACTION_UPDATE) or the organiser (VOTE_MANAGE) act and refuses the others
(test_actions.py). An empty form is answered 400 to every role of the owner unit.

The builders are idempotent and reused by test_actions.py."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

PLAN_TITLE = "甲二村口路灯改造"
OPTION_TITLE = "甲二村老年食堂"


def campaign_a2(world):
    from minyi.votes.models import Campaign, CampaignStatus
    from minyi.votes.tests.factories import make_campaign

    return Campaign.objects.filter(code="actmx").first() or make_campaign(
        world, status=CampaignStatus.PUBLISHED, code="actmx", options=3
    )


def plan_a2(world):
    from minyi.votes.models import ActionPlan, Milestone

    campaign = campaign_a2(world)
    plan = ActionPlan.objects.filter(option__campaign=campaign).first()
    if plan is None:
        option = campaign.options.get(number=1)
        option.title = PLAN_TITLE
        option.save(update_fields=["title"])
        plan = ActionPlan.objects.create(option=option, unit=world.station_a2, target="年底前完成")
        Milestone.objects.create(plan=plan, title="完成选址", due_on="2026-06-30")
    return plan


def option_a2(world):
    """An option of the published campaign with no plan yet."""
    option = campaign_a2(world).options.get(number=2)
    if option.title != OPTION_TITLE:
        option.title = OPTION_TITLE
        option.save(update_fields=["title"])
    return option


def _plan_marker(world):
    plan_a2(world)
    return PLAN_TITLE


def _option_marker(world):
    option_a2(world)
    return OPTION_TITLE


ACTION_CASES: dict = {
    "votes:action_list": Case(Perm.VOTE_VIEW, lambda w: reverse("votes:action_list"), _plan_marker),
    "votes:action_new": Case(
        Perm.VOTE_MANAGE,
        lambda w: reverse("votes:action_new", args=[option_a2(w).pk]),
        _option_marker,
        detail=True,
    ),
    "votes:action_detail": Case(
        Perm.VOTE_VIEW,
        lambda w: reverse("votes:action_detail", args=[plan_a2(w).pk]),
        _plan_marker,
        detail=True,
    ),
    "votes:action_milestone_add": Case(
        Perm.VOTE_VIEW,
        lambda w: reverse("votes:action_milestone_add", args=[plan_a2(w).pk]),
        _plan_marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "votes:action_milestone_done": Case(
        Perm.VOTE_VIEW,
        lambda w: reverse(
            "votes:action_milestone_done",
            args=[plan_a2(w).pk, plan_a2(w).milestones.get().pk],
        ),
        _plan_marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "votes:action_update_publish": Case(
        Perm.VOTE_VIEW,
        lambda w: reverse("votes:action_update_publish", args=[plan_a2(w).pk]),
        _plan_marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
}

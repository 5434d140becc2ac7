"""Permission-matrix cases: audit pages of votes (paper keying, the mismatch queue, the
rejections log, stuffing flags, the chain's verification). The owner is a campaign organised
by station a2; every page hangs from it, so a sibling station gets 404 everywhere."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

TITLE = "审计测试投票"


def _campaign(world):
    from minyi.votes.models import Campaign
    from minyi.votes.tests.factories import make_campaign

    return Campaign.objects.filter(title=TITLE).first() or make_campaign(world, title=TITLE)


def _marker(world):
    _campaign(world)
    return TITLE


def _sheet(world):
    from minyi.orgs.choices import Role
    from minyi.votes.models import PaperEntry, PaperSheet, SheetStatus

    campaign = _campaign(world)
    sheet = PaperSheet.objects.filter(campaign=campaign).first()
    if sheet is None:
        sheet = PaperSheet.objects.create(
            campaign=campaign, serial="M-1", status=SheetStatus.MISMATCH
        )
        for role, choices in ((Role.EVALUATOR, "10000"), (Role.ADMIN, "01000")):
            PaperEntry.objects.create(
                sheet=sheet, clerk=world.user("a2", role), mobile="13800001111", choices=choices
            )
    return sheet


def _flag(world):
    from minyi.votes.models import FlagKind, StuffingFlag

    campaign = _campaign(world)
    return StuffingFlag.objects.filter(campaign=campaign).first() or StuffingFlag.objects.create(
        campaign=campaign,
        kind=FlagKind.NETWORK_BURST,
        key="net@1",
        evidence={"rule_version": "vote-stuffing-2026.1", "count": 30, "expected": 1.0,
                  "p_value": 1e-20, "threshold": 1e-5, "tested": 1000, "baseline": "campaign",
                  "window_start": "2026-12-01T06:00:00+00:00"},
    )  # fmt: skip


def _campaign_url(name):
    return lambda w: reverse(f"votes:{name}", args=[_campaign(w).pk])


AUDIT_CASES = {
    "votes:paper_key": Case(Perm.VOTE_KEY, _campaign_url("paper_key"), _marker, detail=True),
    # Masked mobiles beside choices: the clerks' page (the supervisor settles a mismatch on
    # the sheet's own page).
    "votes:paper_queue": Case(Perm.VOTE_KEY, _campaign_url("paper_queue"), _marker, detail=True),
    "votes:paper_resolve": Case(
        Perm.VOTE_AUDIT,
        lambda w: reverse("votes:paper_resolve", args=[_campaign(w).pk, _sheet(w).pk]),
        _marker,
        detail=True,
    ),
    "votes:rejection_list": Case(
        Perm.VOTE_VIEW, _campaign_url("rejection_list"), _marker, detail=True
    ),
    # Stuffing flags: supervisors only (a flag's few ballots could be matched to receipts).
    "votes:flag_list": Case(Perm.VOTE_AUDIT, _campaign_url("flag_list"), _marker, detail=True),
    "votes:flag_detail": Case(
        Perm.VOTE_AUDIT,
        lambda w: reverse("votes:flag_detail", args=[_campaign(w).pk, _flag(w).pk]),
        _marker,
        detail=True,
    ),
    # An empty decision: the owner's supervisor gets the page back with the reason (400).
    "votes:flag_decide": Case(
        Perm.VOTE_AUDIT,
        lambda w: reverse("votes:flag_decide", args=[_campaign(w).pk, _flag(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "votes:chain_verify": Case(
        Perm.VOTE_AUDIT, _campaign_url("chain_verify"), _marker, detail=True
    ),
}

"""The votes demo (capability 3): a published approval vote with its paper sheets, stuffing
reviews and action plans, an open station PK with work waiting, a draft; every chain sound,
nothing after `now`, written once and only in demo mode."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import override_settings
from django.utils import timezone

from minyi.demo.city import build_demo_city
from minyi.demo.portal import build_portal_demo
from minyi.demo.votes import (
    DRAFT,
    HUIMIN,
    PK,
    STUFFED,
    build_votes_demo,
)
from minyi.orgs.models import OrgUnit
from minyi.votes.chain import chain_verify
from minyi.votes.models import (
    ActionFollower,
    ActionPlan,
    ActionUpdate,
    Ballot,
    Campaign,
    CampaignStatus,
    ChainHead,
    Channel,
    FlagKind,
    FlagStatus,
    Milestone,
    PaperEntry,
    PaperSheet,
    Rejection,
    RejectReason,
    SheetStatus,
    StuffingFlag,
)
from minyi.votes.results import campaign_tally

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Built just after midnight: the open campaign's day has barely begun.
NOW = datetime(2026, 5, 20, 0, 40, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, demo_media):
    with (
        django_db_blocker.unblock(),
        override_settings(DEMO_MODE=True, MEDIA_ROOT=demo_media),
        transaction.atomic(),
    ):
        build_demo_city()
        build_portal_demo(seed=7, opinions=80, cases=12)
        result = build_votes_demo(now=NOW)
        yield result
        transaction.set_rollback(True)


def _campaign(code: str) -> Campaign:
    return Campaign.objects.get(code=code)


@pytest.mark.django_db
def test_three_campaigns_in_their_states_with_sound_chains(demo):
    assert demo.created
    huimin, pk, draft = _campaign(HUIMIN), _campaign(PK), _campaign(DRAFT)
    assert huimin.status == CampaignStatus.PUBLISHED and huimin.max_choices == 10
    assert huimin.options.count() == 30
    assert huimin.opens_at < huimin.closes_at < huimin.published_at < NOW
    assert 55 <= (NOW - huimin.opens_at).days <= 61 and 29 <= (NOW - huimin.closes_at).days <= 31
    assert pk.status == CampaignStatus.OPEN and pk.opens_at < NOW < pk.closes_at
    assert not pk.show_shares and pk.kind == "single" and pk.options.count() == 11
    assert pk.unit.code == "330602"
    assert draft.status == CampaignStatus.DRAFT and draft.options.count() >= 3
    for campaign in (huimin, pk, draft):
        report = chain_verify(campaign)
        assert report.ok, report.problem
    assert chain_verify(huimin).entries == Ballot.objects.filter(campaign=huimin).count() + (
        Rejection.objects.filter(campaign=huimin).count()
    )
    # a head each day of voting, and the published head is the whole chain's
    heads = ChainHead.objects.filter(campaign=huimin).order_by("-published_at")
    assert heads.count() >= 30
    assert heads[0].seq == chain_verify(huimin).entries
    assert heads[0].published_at <= huimin.published_at
    assert ChainHead.objects.filter(campaign=pk).count() >= 3
    # nothing happened after `now`
    assert Ballot.objects.aggregate(m=Max("cast_at"))["m"] < NOW
    assert PaperEntry.objects.aggregate(m=Max("keyed_at"))["m"] < NOW


@pytest.mark.django_db
def test_the_published_vote_has_its_online_and_paper_ballots(demo):
    huimin = _campaign(HUIMIN)
    ballots = Ballot.objects.filter(campaign=huimin)
    online = ballots.filter(channel=Channel.ONLINE)
    assert 3000 <= online.count() <= 3100
    assert online.aggregate(m=Min("cast_at"))["m"] >= huimin.opens_at
    assert online.aggregate(m=Max("cast_at"))["m"] < huimin.closes_at
    # spread over many networks and every part of the day
    assert not online.filter(network_key="").exists()
    assert online.order_by().values("network_key").distinct().count() > 800
    hours = {timezone.localtime(b).hour for b in online.values_list("cast_at", flat=True)}
    assert len(hours) >= 20
    # 400 sheets, each keyed by two clerks; 12 mismatches settled by the supervisor
    sheets = PaperSheet.objects.filter(campaign=huimin)
    assert sheets.count() == 400
    assert not sheets.filter(status__in=[SheetStatus.PENDING, SheetStatus.MISMATCH]).exists()
    clerks = (
        PaperEntry.objects.filter(sheet__campaign=huimin, resolution=False)
        .values("sheet")
        .annotate(n=Count("clerk", distinct=True))
    )
    assert {row["n"] for row in clerks} == {2}
    resolved = sheets.filter(resolved_by__isnull=False)
    assert resolved.count() == 12
    assert {s.resolved_by.username for s in resolved} == {"city_supervisor"}
    rejections = Rejection.objects.filter(campaign=huimin, channel=Channel.PAPER)
    assert rejections.filter(reason=RejectReason.UNREADABLE_MOBILE).count() == 6
    assert rejections.filter(reason=RejectReason.DUPLICATE_VOTER).count() == 10
    assert sheets.filter(status=SheetStatus.REJECTED).count() == 16
    assert ballots.filter(channel=Channel.PAPER).count() == 384
    # approval: most voters tick ten, none more
    assert ballots.aggregate(m=Max("choice_count"))["m"] == 10
    # five proposals came from citizens' suggestions, with their tracking numbers
    assert huimin.options.filter(opinion__isnull=False).count() == 5


@pytest.mark.django_db
def test_stuffing_one_confirmed_one_cleared_one_waiting(demo):
    huimin, pk = _campaign(HUIMIN), _campaign(PK)
    flags = StuffingFlag.objects.filter(campaign=huimin)
    assert sorted(flags.values_list("status", flat=True)) == [
        FlagStatus.CLEARED,
        FlagStatus.CONFIRMED,
    ]
    confirmed = flags.get(status=FlagStatus.CONFIRMED)
    assert confirmed.kind == FlagKind.NETWORK_BURST
    assert confirmed.decided_by.username == "city_supervisor" and confirmed.decision_note
    assert confirmed.created_at < confirmed.decided_at < huimin.closes_at
    stuffed = huimin.options.get(title=STUFFED).number
    assert confirmed.ballots.count() == 46
    assert all(b.choices[stuffed - 1] == "1" for b in confirmed.ballots.all())
    cleared = flags.get(status=FlagStatus.CLEARED)
    assert cleared.kind == FlagKind.NETWORK_BURST and cleared.ballots.count() == 15
    waiting = StuffingFlag.objects.filter(campaign=pk)
    assert list(waiting.values_list("kind", "status")) == [
        (FlagKind.IDENTICAL_BURST, FlagStatus.OPEN)
    ]
    assert waiting.get().ballots.count() >= 24


@pytest.mark.django_db
def test_the_ten_chosen_actions_are_followed_up(demo):
    huimin = _campaign(HUIMIN)
    tally = campaign_tally(huimin)
    top = sorted(tally["options"], key=lambda r: (-r["total"], r["option"].number))[:10]
    plans = ActionPlan.objects.filter(option__campaign=huimin)
    assert set(plans.values_list("option_id", flat=True)) == {r["option"].pk for r in top}
    assert STUFFED not in {r["option"].title for r in top}
    percents = sorted(plans.values_list("percent_done", flat=True))
    assert percents[0] == 20 and percents[-1] == 100
    for plan in plans:
        assert 3 <= Milestone.objects.filter(plan=plan).count() <= 4
        assert 1 <= ActionUpdate.objects.filter(plan=plan).count() <= 4
        assert plan.unit.path.startswith(huimin.unit.path)
        updates = plan.updates.order_by("published_at")
        assert all(huimin.published_at < u.published_at < NOW for u in updates)
        assert [u.percent_done for u in updates] == sorted(u.percent_done for u in updates)
    assert Milestone.objects.filter(plan__in=plans, done_on__isnull=False).exists()
    assert Milestone.objects.filter(plan__in=plans, done_on__isnull=True).exists()
    household = plans.get(option__title="户籍“一件事”办理")
    assert household.percent_done == 100
    assert household.updates.filter(figure_value=82000).exists()
    assert ActionFollower.objects.filter(plan__in=plans).count() >= 10


@pytest.mark.django_db
def test_the_open_pk_has_work_waiting(demo):
    pk = _campaign(PK)
    online = Ballot.objects.filter(campaign=pk, channel=Channel.ONLINE)
    assert 1500 <= online.count() <= 1530
    assert not Ballot.objects.filter(campaign=pk, channel=Channel.PAPER).exists()
    sheets = PaperSheet.objects.filter(campaign=pk)
    assert sheets.filter(status=SheetStatus.PENDING).count() == 6
    assert sheets.filter(status=SheetStatus.MISMATCH).count() == 2
    district = OrgUnit.objects.get(code="330602")
    assert all(o.unit.path.startswith(district.path) for o in pk.options.select_related("unit"))
    # the latest ballot came in the last hours, however late it is
    assert NOW - online.aggregate(m=Max("cast_at"))["m"] < timedelta(hours=6)


@pytest.mark.django_db
def test_the_command_writes_once_and_only_in_demo_mode(demo):
    count = Ballot.objects.count()
    out = StringIO()
    with override_settings(DEMO_MODE=True):
        call_command("demo_votes", stdout=out)
    assert "exists already" in out.getvalue()
    assert Ballot.objects.count() == count
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError):
        call_command("demo_votes", stdout=StringIO())
    assert Campaign.objects.filter(code__in=[HUIMIN, PK, DRAFT]).count() == 3

"""The tally (issue 15, item 6): turnout and votes per option, online and on paper apart and
together, approval shares over ballots (so they add up to more than 1), counted in a fixed
number of queries whatever the number of ballots; and the Excel export's figures."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from minyi.core.errors import ApplicationError
from minyi.votes.ballots import ballot_cast
from minyi.votes.models import (
    Ballot,
    CampaignKind,
    ChainEntry,
    ChainHead,
    FlagKind,
    FlagStatus,
    PaperSheet,
    StuffingFlag,
)
from minyi.votes.results import campaign_export, campaign_tally
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

_mobiles = iter(range(10**6))


def _vote(campaign, choices, *, paper=False, mobile=None, now=None):
    mobile = mobile or f"1390000{next(_mobiles):04d}"
    sheet = None
    if paper:
        sheet = PaperSheet.objects.create(campaign=campaign, serial=f"S{next(_mobiles):05d}")
    return ballot_cast(
        campaign,
        mobile=mobile,
        choices=choices,
        channel="paper" if paper else "online",
        sheet=sheet,
        now=now or timezone.now(),
    )


@pytest.fixture
def campaign(world):
    """Approval, 4 options, up to 3: three online ballots, two paper ones."""
    campaign = make_campaign(world, options=4, max_choices=3)
    for choices in ([1, 2], [1], [2, 3]):
        _vote(campaign, choices)
    for choices in ([1, 3], [3]):
        _vote(campaign, choices, paper=True)
    return campaign


def _figures(tally):
    return [
        (row["option"].number, row["online"], row["paper"], row["total"], row["share"])
        for row in tally["options"]
    ]


def test_tally_counts_channels_apart_and_together(campaign):
    tally = campaign_tally(campaign)

    assert tally["turnout"] == {"online": 3, "paper": 2, "total": 5, "confirmed": 0}
    assert _figures(tally) == [
        (1, 2, 1, 3, pytest.approx(0.6)),
        (2, 2, 0, 2, pytest.approx(0.4)),
        (3, 1, 2, 3, pytest.approx(0.6)),
        (4, 0, 0, 0, 0.0),
    ]
    # Approval: each voter may choose several, so the shares add up to more than 1.
    assert sum(row["share"] for row in tally["options"]) == pytest.approx(1.6)
    assert (tally["rejections"], tally["flags_open"]) == (0, 0)


def test_tally_counts_rejections_and_open_flags_apart_from_ballots(campaign):
    mobile = "13911112222"
    _vote(campaign, [4], mobile=mobile)
    with pytest.raises(ApplicationError):
        _vote(campaign, [1], mobile=mobile)  # a second ballot from the same mobile
    StuffingFlag.objects.create(campaign=campaign, kind=FlagKind.DEVICE_BURST, key="d1")

    tally = campaign_tally(campaign)

    assert tally["turnout"]["total"] == 6
    assert [row["total"] for row in tally["options"]] == [3, 2, 3, 1]
    assert (tally["rejections"], tally["flags_open"]) == (1, 1)


def _flag(campaign, ballots, status, key):
    flag = StuffingFlag.objects.create(
        campaign=campaign, kind=FlagKind.NETWORK_BURST, key=key, status=status
    )
    flag.ballots.set(ballots)
    return flag


def test_ballots_of_confirmed_flags_stay_counted_and_are_reported_apart(campaign):
    suspicious = [_vote(campaign, [2, 4]), _vote(campaign, [2])]
    cleared = _vote(campaign, [1])
    _flag(campaign, suspicious, FlagStatus.CONFIRMED, "n1")
    # A ballot in two confirmed flags is one ballot; cleared and open flags do not count.
    _flag(campaign, suspicious[:1], FlagStatus.CONFIRMED, "n2")
    _flag(campaign, [cleared], FlagStatus.CLEARED, "n3")
    _flag(campaign, [cleared], FlagStatus.OPEN, "n4")

    tally = campaign_tally(campaign)

    assert tally["turnout"] == {"online": 6, "paper": 2, "total": 8, "confirmed": 2}
    assert [(row["total"], row["confirmed"]) for row in tally["options"]] == [
        (4, 0),
        (4, 2),
        (3, 0),
        (1, 1),
    ]
    assert Ballot.objects.filter(campaign=campaign).count() == 8  # nothing deleted

    book = load_workbook(io.BytesIO(campaign_export(campaign)))
    votes = _rows(book["得票"])
    assert votes[0][6] == "其中确认异常"
    assert [row[6] for row in votes[1:]] == [0, 2, 0, 1]
    summary = {row[0]: row[1:] for row in _rows(book["投票情况"]) if row and row[0]}
    assert summary["其中确认异常（刷票复核确认，已计入合计）"][0] == 2


def test_tally_reads_positions_past_nine(world):
    campaign = make_campaign(world, kind=CampaignKind.SINGLE, options=12)
    _vote(campaign, [12])
    _vote(campaign, [10])
    _vote(campaign, [12])

    totals = {row["option"].number: row["total"] for row in campaign_tally(campaign)["options"]}

    assert totals[12] == 2 and totals[10] == 1 and totals[1] == 0
    assert sum(totals.values()) == 3


def test_tally_queries_do_not_grow_with_ballots(campaign, django_assert_num_queries):
    # Options, the one aggregate of ballots per channel, the one of confirmed-flag ballots,
    # rejections, open flags.
    with django_assert_num_queries(5):
        campaign_tally(campaign)
    for i in range(10):
        _vote(campaign, [1 + i % 4])
    with django_assert_num_queries(5):
        tally = campaign_tally(campaign)
    assert tally["turnout"]["total"] == 15


def test_tally_of_a_campaign_without_ballots(world):
    campaign = make_campaign(world, options=3)
    tally = campaign_tally(campaign)
    assert tally["turnout"] == {"online": 0, "paper": 0, "total": 0, "confirmed": 0}
    assert [row["share"] for row in tally["options"]] == [0.0, 0.0, 0.0]


def _rows(sheet):
    return list(sheet.iter_rows(values_only=True))


def test_export_holds_the_figures_and_no_personal_data(campaign):
    mobile = "13911113333"
    _vote(campaign, [4], mobile=mobile, now=timezone.now() + timedelta(seconds=1))
    with pytest.raises(ApplicationError):
        _vote(campaign, [1], mobile=mobile)
    ChainHead.objects.create(campaign=campaign, seq=1, hash="ab" * 32)

    book = load_workbook(io.BytesIO(campaign_export(campaign)))

    votes = _rows(book["得票"])
    assert votes[0][:6] == ("编号", "候选项", "网上投票", "纸质票选表", "合计", "得票率")
    assert [row[:5] for row in votes[1:]] == [
        (1, "候选项目1", 2, 1, 3),
        (2, "候选项目2", 2, 0, 2),
        (3, "候选项目3", 1, 2, 3),
        (4, "候选项目4", 1, 0, 1),
    ]
    assert votes[1][5] == pytest.approx(0.5)  # 3 of 6 ballots
    summary = {row[0]: row[1:] for row in _rows(book["投票情况"]) if row and row[0]}
    assert summary["合计"][0] == 6
    assert summary["纸质票选表"][0] == 2
    assert summary["该手机号已投过票（以先计入的有效选票为准）"][:3] == (1, 0, 1)
    assert summary["无效票合计"][0] == 1
    last = ChainEntry.objects.filter(campaign=campaign).latest("seq")
    assert summary["记录条数"][0] == last.seq == 7
    assert summary["最新记录哈希"][0] == last.hash
    assert summary["最近公布的链头哈希"][0] == "ab" * 32
    every_cell = " ".join(
        str(value) for sheet in book for row in _rows(sheet) for value in row if value
    )
    assert mobile not in every_cell and "1391111" not in every_cell
    ballot_keys = campaign.ballots.values_list("voter_key", "receipt")
    assert not any(key in every_cell or receipt in every_cell for key, receipt in ballot_keys)

"""The hash chain (issue 15, item 4): a clean chain verifies; editing any recorded row, removing
the last one against a published head, or a gap in the middle is caught at its seq."""

import hashlib
import itertools
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from minyi.votes.ballots import ballot_cast, rejection_record
from minyi.votes.chain import (
    ballot_paper,
    canonical,
    chain_append,
    chain_verify,
    genesis_hash,
    head_publish,
    heads_publish_due,
    link_hash,
)
from minyi.votes.models import (
    Ballot,
    CampaignStatus,
    ChainEntry,
    ChainHead,
    Channel,
    Option,
    Rejection,
    RejectReason,
)
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def _mobile(i: int) -> str:
    return f"1390000{i:04d}"


def _campaign_with_votes(world, n=5, *, duplicate_at=None):
    """`n` ballots (seq 1..n), plus a refused duplicate right after ballot `duplicate_at`."""
    campaign = make_campaign(world, options=5, max_choices=3)
    for i in range(1, n + 1):
        ballot_cast(campaign, mobile=_mobile(i), choices=[1 + i % 5])
        if i == duplicate_at:
            with pytest.raises(Exception, match="已经投过票"):
                ballot_cast(campaign, mobile=_mobile(i), choices=[2])
    return campaign


def test_clean_chain_verifies(world):
    campaign = _campaign_with_votes(world, 5, duplicate_at=2)
    report = chain_verify(campaign)
    assert report.ok and report.entries == 6 and report.failed_seq is None
    entries = list(ChainEntry.objects.filter(campaign=campaign))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == genesis_hash(campaign)
    paper = canonical(ballot_paper(campaign))
    assert campaign.code in paper and "候选项目1" in paper
    assert (
        entries[0].prev_hash == hashlib.sha256(f"minyi-vote-genesis:{paper}".encode()).hexdigest()
    )
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
        assert entry.payload_hash == hashlib.sha256(entry.payload.encode()).hexdigest()
        assert entry.hash == link_hash(entry.seq, entry.prev_hash, entry.payload_hash)
    assert Rejection.objects.get(campaign=campaign).seq == 3
    assert sorted(Ballot.objects.filter(campaign=campaign).values_list("seq", flat=True)) == [
        1,
        2,
        4,
        5,
        6,
    ]


def test_empty_chain_verifies(world):
    campaign = make_campaign(world)
    head = head_publish(campaign)
    assert (head.seq, head.hash) == (0, genesis_hash(campaign))
    assert chain_verify(campaign).ok


def test_edited_entry_payload_fails_at_its_seq(world):
    campaign = _campaign_with_votes(world, 5)
    entry = ChainEntry.objects.get(campaign=campaign, seq=3)
    payload = json.loads(entry.payload)
    payload["choices"] = "11100"
    ChainEntry.objects.filter(pk=entry.pk).update(payload=canonical(payload))
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 3
    assert "第 3 条" in report.problem


def test_rehashed_entry_still_fails_at_its_seq(world):
    """Editing the entry AND its hashes still breaks the link to the next entry (and the row
    no longer matches)."""
    campaign = _campaign_with_votes(world, 5)
    entry = ChainEntry.objects.get(campaign=campaign, seq=2)
    payload = json.loads(entry.payload)
    payload["choices"] = "11100"
    text = canonical(payload)
    payload_hash = hashlib.sha256(text.encode()).hexdigest()
    ChainEntry.objects.filter(pk=entry.pk).update(
        payload=text,
        payload_hash=payload_hash,
        hash=link_hash(2, entry.prev_hash, payload_hash),
    )
    assert chain_verify(campaign).failed_seq == 2


def test_edited_ballot_choices_fail_at_its_seq(world):
    campaign = _campaign_with_votes(world, 5)
    Ballot.objects.filter(campaign=campaign, seq=4).update(choices="10000")  # was "00001"
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 4
    assert "不一致" in report.problem


def test_edited_ballot_receipt_fails_at_its_seq(world):
    campaign = _campaign_with_votes(world, 3)
    Ballot.objects.filter(campaign=campaign, seq=1).update(receipt="0000-0000-00")
    assert chain_verify(campaign).failed_seq == 1


def test_edited_rejection_reason_fails_at_its_seq(world):
    campaign = _campaign_with_votes(world, 4, duplicate_at=2)
    rejection = Rejection.objects.get(campaign=campaign)
    assert rejection.seq == 3
    Rejection.objects.filter(pk=rejection.pk).update(reason=RejectReason.VOID)
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 3


def test_edited_option_title_fails_at_the_first_seq(world):
    # Swapping what a "1" means would flip the result without touching a ballot.
    campaign = _campaign_with_votes(world, 3)
    Option.objects.filter(campaign=campaign, number=1).update(title="别的项目")
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 1


def test_deleted_last_entry_and_ballot_caught_by_published_head(world):
    campaign = _campaign_with_votes(world, 5)
    head = head_publish(campaign)
    assert (head.seq, chain_verify(campaign).head_checked) == (5, head)
    Ballot.objects.filter(campaign=campaign, seq=5).delete()
    ChainEntry.objects.filter(campaign=campaign, seq=5).delete()
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 5
    assert "回滚" in report.problem


def test_without_a_head_a_removed_tail_is_invisible(world):
    """What the published head is for: without one, a consistent truncation verifies."""
    campaign = _campaign_with_votes(world, 3)
    Ballot.objects.filter(campaign=campaign, seq=3).delete()
    ChainEntry.objects.filter(campaign=campaign, seq=3).delete()
    assert chain_verify(campaign).ok


def test_rebuilt_chain_caught_by_published_head(world):
    """Someone rewrites a ballot and recomputes every later hash: the head no longer
    matches."""
    campaign = _campaign_with_votes(world, 4)
    head_publish(campaign)
    Ballot.objects.filter(campaign=campaign, seq=2).update(choices="10000", choice_count=1)
    prev = ChainEntry.objects.get(campaign=campaign, seq=1).hash
    for entry in ChainEntry.objects.filter(campaign=campaign, seq__gte=2).order_by("seq"):
        payload = json.loads(entry.payload)
        if entry.seq == 2:
            payload["choices"], payload["choice_count"] = "10000", 1
        text = canonical(payload)
        payload_hash = hashlib.sha256(text.encode()).hexdigest()
        new_hash = link_hash(entry.seq, prev, payload_hash)
        ChainEntry.objects.filter(pk=entry.pk).update(
            payload=text, payload_hash=payload_hash, prev_hash=prev, hash=new_hash
        )
        prev = new_hash
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 4


def test_gap_in_the_middle_detected(world):
    campaign = _campaign_with_votes(world, 5)
    Ballot.objects.filter(campaign=campaign, seq=3).delete()
    ChainEntry.objects.filter(campaign=campaign, seq=3).delete()
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 3
    assert "缺失" in report.problem


def test_ballot_without_entry_detected(world):
    campaign = _campaign_with_votes(world, 3)
    ChainEntry.objects.filter(campaign=campaign, seq=3).delete()
    report = chain_verify(campaign)
    assert not report.ok and report.failed_seq == 3


def test_entry_without_row_detected(world):
    campaign = _campaign_with_votes(world, 3)
    Ballot.objects.filter(campaign=campaign, seq=2).delete()
    assert chain_verify(campaign).failed_seq == 2


def test_chain_append_refuses_a_wrong_seq(world):
    campaign = _campaign_with_votes(world, 2)
    with pytest.raises(ValueError):
        chain_append(campaign, kind="rejection", payload={"seq": 2})


def test_head_publish_skips_an_unchanged_head(world):
    campaign = _campaign_with_votes(world, 2)
    now = timezone.now()
    first = head_publish(campaign, now=now)
    assert head_publish(campaign, now=now + timedelta(hours=1)) == first
    rejection_record(campaign, channel=Channel.ONLINE, reason=RejectReason.VOID)
    second = head_publish(campaign, now=now + timedelta(hours=2))
    assert second != first and second.seq == 3
    assert ChainHead.objects.filter(campaign=campaign).count() == 2


def test_heads_publish_due_once_a_day_for_open_and_closed(world):
    now = timezone.now()
    open_one = _campaign_with_votes(world, 1)
    closed = make_campaign(world, status=CampaignStatus.CLOSED)
    draft = make_campaign(world, status=CampaignStatus.DRAFT)
    published = make_campaign(world, status=CampaignStatus.PUBLISHED)
    assert heads_publish_due(now=now) == 2
    assert heads_publish_due(now=now) == 0
    assert not ChainHead.objects.filter(campaign__in=[draft, published]).exists()
    ballot_cast(open_one, mobile=_mobile(99), choices=[1], now=now)
    tomorrow = now + timedelta(days=1)
    # The open campaign moved on; the closed one's head is unchanged and not repeated.
    assert heads_publish_due(now=tomorrow) == 1
    assert ChainHead.objects.filter(campaign=open_one).latest("published_at").seq == 2
    assert ChainHead.objects.filter(campaign=closed).count() == 1


def test_votes_verify_command(world):
    good = _campaign_with_votes(world, 2)
    out = StringIO()
    call_command("votes_verify", campaign=good.code, stdout=out)
    assert "OK" in out.getvalue() and "2" in out.getvalue()

    bad = _campaign_with_votes(world, 3)
    Ballot.objects.filter(campaign=bad, seq=2).update(choices="00001")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("votes_verify", stdout=out)
    assert exited.value.code == 1
    assert good.code in out.getvalue() and bad.code in out.getvalue()
    assert "第 2 条" in out.getvalue()


def test_votes_publish_heads_command(world):
    campaign = _campaign_with_votes(world, 2)
    out = StringIO()
    call_command("votes_publish_heads", stdout=out)
    assert "1 new head" in out.getvalue()
    assert ChainHead.objects.get(campaign=campaign).seq == 2

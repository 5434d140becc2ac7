"""Casting ballots (issue 15, item 2): every refusal with its code, one ballot per mobile and
per ID number, duplicates recorded as rejections in the chain, selection vectors, receipts."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.core.pii import id_number_checksum
from minyi.orgs.choices import Role
from minyi.votes import ballots, keys
from minyi.votes.ballots import ballot_by_receipt, ballot_cast, rejection_record
from minyi.votes.chain import chain_tip, chain_verify
from minyi.votes.models import (
    Ballot,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ChainEntry,
    Channel,
    PaperSheet,
    Rejection,
    RejectReason,
)
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

MOBILE = "13800001111"


def _id_number(body17: str = "33050219800101123") -> str:
    return body17 + id_number_checksum(body17)


def _refused(campaign, **kwargs) -> ApplicationError:
    kwargs.setdefault("mobile", MOBILE)
    kwargs.setdefault("choices", [1])
    with pytest.raises(ApplicationError) as caught:
        ballot_cast(campaign, **kwargs)
    return caught.value


def test_cast_builds_selection_vector_receipt_and_chain_entry(world):
    campaign = make_campaign(world, options=5, max_choices=3)
    now = timezone.now()

    ballot = ballot_cast(
        campaign, mobile=MOBILE, choices=[4, 2], ip="203.0.113.9", device="dev-1", now=now
    )

    ballot.refresh_from_db()
    assert ballot.choices == "01010"
    assert ballot.chosen_numbers() == [2, 4]
    assert (ballot.choice_count, ballot.max_choices, ballot.seq) == (2, 3, 1)
    assert ballot.channel == Channel.ONLINE
    assert ballot.voter_key == keys.voter_key(campaign, MOBILE)
    assert ballot.mobile == MOBILE
    assert ballot.network_key == keys.network_key("203.0.113.200")  # same /24
    assert ballot.device_key == keys.device_key("dev-1")
    assert len(ballot.receipt) <= 16
    assert ballot_by_receipt(campaign, ballot.receipt.lower().replace("-", " ")) == ballot
    assert ballot_by_receipt(campaign, "ZZZZ-ZZZZ-ZZ") is None
    entry = ChainEntry.objects.get(campaign=campaign)
    payload = json.loads(entry.payload)
    assert (entry.seq, entry.kind) == (1, "ballot")
    assert payload["choices"] == "01010"
    assert payload["receipt"] == ballot.receipt
    assert payload["voter_key"] == ballot.voter_key
    assert MOBILE not in entry.payload
    assert chain_verify(campaign).ok


def test_mobile_is_stored_encrypted(world):
    campaign = make_campaign(world)
    ballot = ballot_cast(campaign, mobile=MOBILE, choices=[1])
    raw = Ballot.objects.filter(pk=ballot.pk).values_list("mobile", flat=True)
    # values_list still decrypts; read the column itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM votes_ballot WHERE id = %s", [ballot.pk])
        stored = cursor.fetchone()[0]
    assert list(raw) == [MOBILE]
    assert MOBILE not in stored


def test_single_choice_campaign(world):
    campaign = make_campaign(world, kind=CampaignKind.SINGLE, options=11)
    ballot = ballot_cast(campaign, mobile=MOBILE, choices=[11])
    assert ballot.choices == "0" * 10 + "1"
    assert _refused(campaign, mobile="13900002222", choices=[1, 2]).code == "too_many_choices"


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ([], "no_choice"),
        ([1, 2, 3, 4], "too_many_choices"),
        ([2, 2], "repeated_choice"),
        ([6], "unknown_option"),
        ([0], "unknown_option"),
        (["x"], "unknown_option"),
        ([True], "unknown_option"),
    ],
)
def test_invalid_choices_are_refused(world, choices, code):
    campaign = make_campaign(world, options=5, max_choices=3)
    error = _refused(campaign, choices=choices)
    assert (error.code, error.field, error.status) == (code, "choices", 422)
    assert not Ballot.objects.exists()
    # Answered at once, not recorded: the voter may try again.
    assert not Rejection.objects.exists() and not ChainEntry.objects.exists()


def test_window_refusals(world):
    now = timezone.now()
    later = make_campaign(world, opens_at=now + timedelta(hours=1), closes_at=now + timedelta(1))
    assert (_refused(later, now=now).code, _refused(later, now=now).status) == (
        "campaign_not_open",
        409,
    )
    draft = make_campaign(world, status=CampaignStatus.DRAFT)
    assert _refused(draft, now=now).code == "campaign_not_open"
    over = make_campaign(world, opens_at=now - timedelta(2), closes_at=now - timedelta(1))
    assert _refused(over, now=now).code == "campaign_closed"
    # The closing instant itself is too late.
    edge = make_campaign(world, opens_at=now - timedelta(2), closes_at=now)
    assert _refused(edge, now=now).code == "campaign_closed"
    closed = make_campaign(world, status=CampaignStatus.CLOSED)
    assert _refused(closed, now=now).code == "campaign_closed"
    assert not Ballot.objects.exists() and not Rejection.objects.exists()


def test_the_window_is_judged_on_the_row_not_on_a_stale_object(world):
    campaign = make_campaign(world, status=CampaignStatus.DRAFT)
    stale = Campaign.objects.get(pk=campaign.pk)  # read before the campaign opened
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.OPEN)
    assert ballot_cast(stale, mobile="13800001111", choices=[1]).campaign_id == campaign.pk

    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
    with pytest.raises(ApplicationError) as refused:
        ballot_cast(stale, mobile="13800002222", choices=[1])
    assert refused.value.code == "campaign_closed"


def test_paper_ballots_accepted_while_closed_not_after_publication(world):
    clerk = world.user("a2", Role.EVALUATOR)
    closed = make_campaign(world, status=CampaignStatus.CLOSED)
    sheet = PaperSheet.objects.create(campaign=closed, serial="P0001")
    ballot = ballot_cast(
        closed, mobile=MOBILE, choices=[1], channel=Channel.PAPER, sheet=sheet, actor=clerk
    )
    assert ballot.sheet == sheet and ballot.network_key == ""
    assert json.loads(ChainEntry.objects.get(campaign=closed).payload)["sheet"] == "P0001"
    published = make_campaign(world, status=CampaignStatus.PUBLISHED)
    late = PaperSheet.objects.create(campaign=published, serial="P0002")
    assert _refused(published, channel=Channel.PAPER, sheet=late).code == "campaign_closed"
    draft = make_campaign(world, status=CampaignStatus.DRAFT)
    early = PaperSheet.objects.create(campaign=draft, serial="P0003")
    assert _refused(draft, channel=Channel.PAPER, sheet=early).code == "campaign_not_open"


def test_same_mobile_in_other_spellings_is_already_voted(world):
    campaign = make_campaign(world)
    first = ballot_cast(campaign, mobile=MOBILE, choices=[1])

    for spelling in ("+86 138 0000 1111", "0086-138-0000-1111", "１３８００００１１１１"):
        error = _refused(campaign, mobile=spelling, choices=[2])
        assert (error.code, error.status) == ("already_voted", 409)

    assert list(Ballot.objects.filter(campaign=campaign)) == [first]
    rejections = list(Rejection.objects.filter(campaign=campaign))
    assert [r.reason for r in rejections] == [RejectReason.DUPLICATE_VOTER] * 3
    assert [r.seq for r in rejections] == [2, 3, 4]
    assert {r.voter_key for r in rejections} == {first.voter_key}
    entries = ChainEntry.objects.filter(campaign=campaign)
    assert [e.kind for e in entries] == ["ballot", "rejection", "rejection", "rejection"]
    assert json.loads(entries[1].payload)["reason"] == "duplicate_voter"
    assert chain_verify(campaign).ok


def test_same_mobile_may_vote_in_another_campaign(world):
    one, two = make_campaign(world), make_campaign(world)
    a = ballot_cast(one, mobile=MOBILE, choices=[1])
    b = ballot_cast(two, mobile=MOBILE, choices=[1])
    assert a.voter_key != b.voter_key


def test_id_number_required_invalid_and_duplicate(world):
    campaign = make_campaign(world, require_id_number=True)
    error = _refused(campaign)
    assert (error.code, error.field) == ("id_number_required", "id_number")
    bad = _id_number()[:-1] + ("0" if _id_number()[-1] != "0" else "1")
    error = _refused(campaign, id_number=bad)
    assert (error.code, error.field) == ("invalid_id_number", "id_number")

    ballot = ballot_cast(campaign, mobile=MOBILE, choices=[1], id_number=_id_number())
    assert ballot.id_key == keys.id_key(campaign, _id_number().lower())

    # Another mobile, the same person (lower-case x and spaces are the same number).
    error = _refused(campaign, mobile="13900002222", id_number=f" {_id_number()} ")
    assert (error.code, error.status) == ("already_voted", 409)
    assert Rejection.objects.get(campaign=campaign).reason == RejectReason.DUPLICATE_ID
    assert Ballot.objects.filter(campaign=campaign).count() == 1


def test_id_number_ignored_when_not_required(world):
    campaign = make_campaign(world)
    ballot = ballot_cast(campaign, mobile=MOBILE, choices=[1], id_number="whatever")
    assert ballot.id_key == ""
    ballot_cast(campaign, mobile="13900002222", choices=[1])
    assert Ballot.objects.filter(campaign=campaign).count() == 2


def test_invalid_mobile_refused(world):
    campaign = make_campaign(world)
    assert _refused(campaign, mobile="12345").code == "invalid_mobile"


def test_rejection_record_appends_to_chain(world):
    campaign = make_campaign(world, status=CampaignStatus.CLOSED)
    clerk = world.user("a2", Role.EVALUATOR)
    sheet = PaperSheet.objects.create(campaign=campaign, serial="P0009")
    rejection = rejection_record(
        campaign,
        channel=Channel.PAPER,
        reason=RejectReason.UNREADABLE_MOBILE,
        sheet=sheet,
        detail="字迹无法辨认",
        actor=clerk,
    )
    entry = ChainEntry.objects.get(campaign=campaign)
    assert (rejection.seq, entry.seq, entry.kind) == (1, 1, "rejection")
    payload = json.loads(entry.payload)
    assert payload["reason"] == "unreadable_mobile"
    assert payload["detail"] == "字迹无法辨认"  # ensure_ascii=False: stored as written
    assert payload["actor"] == clerk.pk and payload["sheet"] == "P0009"
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save(update_fields=["status"])
    with pytest.raises(ApplicationError) as caught:
        rejection_record(campaign, channel=Channel.PAPER, reason=RejectReason.VOID)
    assert caught.value.code == "campaign_closed"


def test_receipts_are_unambiguous():
    receipts = {keys.new_receipt() for _ in range(500)}
    assert len(receipts) == 500
    for receipt in receipts:
        assert len(receipt) == 12 and receipt.count("-") == 2
        assert not set(receipt.replace("-", "")) & set("ILOU")
    assert keys.receipt_normalize("k7q2 m9xd 3f") == "K7Q2-M9XD-3F"
    assert keys.receipt_normalize("O1L2-M9XD-3F") == "0112-M9XD-3F"
    assert keys.receipt_normalize("K7Q2") == ""


def test_network_and_device_keys():
    assert keys.network_key("198.51.100.7") == keys.network_key("198.51.100.250")
    assert keys.network_key("198.51.100.7") != keys.network_key("198.51.101.7")
    assert keys.network_key("::ffff:198.51.100.7") == keys.network_key("198.51.100.1")
    assert keys.network_key("2001:db8:1:2::1") == keys.network_key("2001:db8:1:2:ffff::9")
    assert keys.network_key("2001:db8:1:2::1") != keys.network_key("2001:db8:1:3::1")
    assert keys.network_key("") == keys.network_key("not-an-ip") == ""
    assert keys.device_key("") == ""
    assert keys.device_key("abc") == keys.device_key(" abc ") != keys.device_key("abd")


def test_voter_key_is_keyed_with_the_vote_key(world, settings):
    campaign = make_campaign(world)
    before = keys.voter_key(campaign, MOBILE)
    settings.VOTE_KEY = "another-secret"
    assert keys.voter_key(campaign, MOBILE) != before


def test_unique_constraint_backstop_answers_already_voted(world, monkeypatch):
    """Should the check under the lock ever miss a duplicate, the database's unique key
    refuses it and the voter gets the same answer, recorded the same way."""
    campaign = make_campaign(world)
    first = ballot_cast(campaign, mobile=MOBILE, choices=[1])
    monkeypatch.setattr(ballots, "_state", lambda c, v, i: (chain_tip(c), ""))

    error = _refused(campaign, choices=[2])

    assert (error.code, error.status) == ("already_voted", 409)
    assert list(Ballot.objects.filter(campaign=campaign)) == [first]
    assert Rejection.objects.get(campaign=campaign).reason == RejectReason.DUPLICATE_VOTER
    assert chain_verify(campaign).ok


def test_receipt_collision_draws_again(world, monkeypatch):
    campaign = make_campaign(world)
    first = ballot_cast(campaign, mobile=MOBILE, choices=[1])
    drawn = iter([first.receipt, first.receipt, "AAAA-BBBB-CC"])
    monkeypatch.setattr(keys, "new_receipt", lambda: next(drawn))

    second = ballot_cast(campaign, mobile="13900002222", choices=[1])

    assert second.receipt == "AAAA-BBBB-CC"
    assert (second.seq, Ballot.objects.filter(campaign=campaign).count()) == (2, 2)
    assert not Rejection.objects.exists()
    assert chain_verify(campaign).ok


def test_ballot_constraints_hold_in_the_database(world):
    """The database refuses a vector with other characters, a wrong count or too many."""
    campaign = make_campaign(world, options=5, max_choices=2)
    base = {
        "campaign": campaign,
        "voter_key": "k",
        "mobile": MOBILE,
        "max_choices": 2,
        "channel": Channel.ONLINE,
        "receipt": "R",
        "seq": 1,
    }
    for choices, count in (("01200", 2), ("01100", 1), ("11100", 3), ("00000", 0)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Ballot.objects.create(choices=choices, choice_count=count, **base)
    Ballot.objects.create(choices="01100", choice_count=2, **base)

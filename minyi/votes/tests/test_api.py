"""The public vote API (/api/v1/votes/…): no login, the mobile's one-time code is the proof;
every refusal is JSON with its code (issue 15, "Bad input")."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from minyi.core.pii import normalize_mobile
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.verification.models import OtpChallenge, OtpPurpose
from minyi.votes.ballots import ballot_cast
from minyi.votes.keys import network_key
from minyi.votes.models import Ballot, CampaignStatus, ChainEntry, Rejection
from minyi.votes.tests.factories import make_campaign
from minyi.votes.tests.test_public import IP, MOBILE, latest_code, other_code

pytestmark = pytest.mark.django_db


def url(campaign, tail=""):
    code = campaign if isinstance(campaign, str) else campaign.code
    return f"/api/v1/votes/{code}{tail}"


def ask(client, campaign, mobile=MOBILE):
    return client.post(
        url(campaign, "/otp"), {"mobile": mobile}, content_type="application/json", REMOTE_ADDR=IP
    )


def ask_code(client, campaign, mobile=MOBILE) -> str:
    assert ask(client, campaign, mobile).status_code == 202
    return latest_code(normalize_mobile(mobile))


def cast(client, campaign, choices, *, code, mobile=MOBILE, **extra):
    return client.post(
        url(campaign, "/ballots"),
        {"mobile": mobile, "code": code, "choices": choices, **extra},
        content_type="application/json",
        REMOTE_ADDR=IP,
    )


def refused(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    return response.json()


def test_campaign_read_has_options_and_turnout_and_hides_shares_while_open(client, world):
    campaign = make_campaign(world, title="派出所PK")
    ballot_cast(campaign, mobile="13900000001", choices=[1, 2])
    body = client.get(url(campaign)).json()
    assert body["title"] == "派出所PK"
    assert body["voting"] == "open"
    assert [o["number"] for o in body["options"]] == [1, 2, 3, 4, 5]
    assert body["turnout"] == {"online": 1, "paper": 0, "total": 1}
    assert body["shares"] is None


def test_campaign_read_shows_shares_when_published(client, world):
    campaign = make_campaign(world)
    ballot_cast(campaign, mobile="13900000001", choices=[1, 2])
    ballot_cast(campaign, mobile="13900000002", choices=[1])
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save(update_fields=["status"])
    shares = client.get(url(campaign)).json()["shares"]
    assert shares[0] == {
        "number": 1,
        "title": "候选项目1",
        "online": 2,
        "paper": 0,
        "total": 2,
        "share": 1.0,
    }
    assert shares[1]["share"] == 0.5


@pytest.mark.parametrize("code", ["nope", "a%00b", "x" * 40])
def test_unknown_campaign_is_a_json_404(client, world, code):
    refused(client.get(url(code)), 404, "not_found")


def test_draft_campaign_is_not_found(client, world):
    campaign = make_campaign(world, status=CampaignStatus.DRAFT)
    refused(client.get(url(campaign)), 404, "not_found")
    refused(ask(client, campaign), 404, "not_found")


def test_otp_queues_a_code_for_this_campaign(client, world):
    campaign = make_campaign(world)
    response = ask(client, campaign, "+86 138 0000 2222")
    assert response.status_code == 202
    assert response.json() == {"mobile": "138****2222", "expires_in_minutes": 10}
    challenge = OtpChallenge.objects.get()
    assert (challenge.purpose, challenge.subject, challenge.ip) == (
        OtpPurpose.VOTE,
        campaign.code,
        IP,
    )
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1


def test_a_ballot_is_counted_with_its_receipt(client, world):
    campaign = make_campaign(world)
    code = ask_code(client, campaign)
    response = cast(client, campaign, [3, 1], code=code)
    assert response.status_code == 201
    ballot = Ballot.objects.get()
    assert response.json() == {"receipt": ballot.receipt, "seq": ballot.seq}
    assert ballot.chosen_numbers() == [1, 3]
    assert ballot.network_key == network_key(IP)


def test_the_api_needs_no_csrf_token(world):
    campaign = make_campaign(world)
    client = Client(enforce_csrf_checks=True)
    code = ask_code(client, campaign)
    assert cast(client, campaign, [1], code=code).status_code == 201


def test_outside_the_voting_times_no_code_and_no_ballot(client, world):
    now = timezone.now()
    early = make_campaign(
        world, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
    )
    late = make_campaign(
        world, opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=1)
    )
    closed = make_campaign(world, status=CampaignStatus.CLOSED)
    refused(ask(client, early), 409, "campaign_not_open")
    refused(cast(client, early, [1], code="123456"), 409, "campaign_not_open")
    for campaign in (late, closed):
        refused(ask(client, campaign), 409, "campaign_closed")
        refused(cast(client, campaign, [1], code="123456"), 409, "campaign_closed")
    assert not OutboundSms.objects.exists()
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ([1, 2, 3, 4], "too_many_choices"),
        ([2, 2], "repeated_choice"),
        ([6], "unknown_option"),
        ([0], "unknown_option"),
        ([-1], "unknown_option"),
        ([], "no_choice"),
    ],
)
def test_bad_choices_are_refused_without_spending_the_code(client, world, choices, code):
    campaign = make_campaign(world)
    otp = ask_code(client, campaign)
    body = refused(cast(client, campaign, choices, code=otp), 422, code)
    assert body["field"] == "choices"
    assert not Ballot.objects.exists()
    assert cast(client, campaign, [1], code=otp).status_code == 201
    assert Ballot.objects.count() == 1


def test_an_option_number_of_another_campaign_is_unknown(client, world):
    small = make_campaign(world, options=3)
    make_campaign(world, options=9)
    otp = ask_code(client, small)
    refused(cast(client, small, [9], code=otp), 422, "unknown_option")


def test_forged_reused_and_second_ballots_are_refused_and_counted_once(client, world):
    campaign = make_campaign(world)
    refused(cast(client, campaign, [1], code="123456"), 400, "otp_missing")
    otp = ask_code(client, campaign)
    body = refused(cast(client, campaign, [1], code=other_code(otp)), 400, "otp_wrong")
    assert body["field"] == "code"
    refused(cast(client, campaign, [1], code="12ab"), 400, "invalid_code")
    assert cast(client, campaign, [1], code=otp).status_code == 201

    refused(cast(client, campaign, [2], code=otp), 400, "otp_used")
    # A new code for the same mobile proves it again, but the mobile has voted.
    OtpChallenge.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    otp = ask_code(client, campaign, "86 13800002222")
    refused(cast(client, campaign, [2], code=otp, mobile="138-0000-2222"), 409, "already_voted")

    assert Ballot.objects.count() == 1
    assert Ballot.objects.get().chosen_numbers() == [1]
    assert Rejection.objects.filter(campaign=campaign).count() == 1
    assert ChainEntry.objects.filter(campaign=campaign).count() == 2


def test_a_code_for_campaign_a_does_not_vote_in_campaign_b(client, world):
    a, b = make_campaign(world), make_campaign(world)
    otp = ask_code(client, a)
    refused(cast(client, b, [1], code=otp), 400, "otp_missing")
    assert not Ballot.objects.exists()
    # Still good where it belongs.
    assert cast(client, a, [1], code=otp).status_code == 201


def test_id_number_when_required(client, world):
    campaign = make_campaign(world, require_id_number=True)
    otp = ask_code(client, campaign)
    refused(cast(client, campaign, [1], code=otp), 422, "id_number_required")
    # The code was spent on that refusal (it is checked before the ID number): a new one.
    OtpChallenge.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    otp = ask_code(client, campaign)
    assert cast(client, campaign, [1], code=otp, id_number="11010519491231002X").status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "malformed_body"),
        ("[1, 2]", "malformed_body"),
        ('{"mobile": "13800002222", "code": "123456"}', "invalid_field"),
        ('{"mobile": "13800002222", "code": "123456", "choices": "1"}', "invalid_field"),
        ('{"mobile": "13800002222", "code": "123456", "choices": [1.5]}', "invalid_field"),
    ],
)
def test_malformed_bodies_are_422(client, world, body, code):
    campaign = make_campaign(world)
    response = client.post(url(campaign, "/ballots"), body, content_type="application/json")
    payload = refused(response, 422, code)
    assert "13800002222" not in str(payload)


def test_invalid_mobile_is_refused(client, world):
    campaign = make_campaign(world)
    refused(ask(client, campaign, "12345"), 400, "invalid_mobile")


def test_receipt_check_after_publication_only(client, world):
    campaign = make_campaign(world)
    ballot = ballot_cast(campaign, mobile="13900000001", choices=[2, 4])
    refused(client.get(url(campaign, f"/receipts/{ballot.receipt}")), 409, "not_published")
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save(update_fields=["status"])
    body = client.get(url(campaign, f"/receipts/{ballot.receipt.lower()}")).json()
    entry = ChainEntry.objects.get(campaign=campaign, seq=ballot.seq)
    assert body == {
        "receipt": ballot.receipt,
        "seq": ballot.seq,
        "channel": "online",
        "payload_hash": entry.payload_hash,
    }
    refused(client.get(url(campaign, "/receipts/ZZZZ-ZZZZ-ZZ")), 404, "not_found")
    # Another campaign's receipt is not this campaign's.
    other = make_campaign(world, status=CampaignStatus.PUBLISHED)
    refused(client.get(url(other, f"/receipts/{ballot.receipt}")), 404, "not_found")


def test_choices_must_be_integers_not_booleans_or_strings(client, world):
    campaign = make_campaign(world)
    for choices in ([True], ["1"], [1.0]):
        response = client.post(
            url(campaign, "/ballots"),
            {"mobile": "13900000001", "code": "123456", "choices": choices},
            content_type="application/json",
        )
        assert response.status_code == 422, choices
    assert not Ballot.objects.exists()


def test_a_voter_costs_few_statements(client, world, django_assert_max_num_queries):
    """The hot path stays set-based (docs/performance.md, Votes): a code request is the lock
    upsert, one statement for every limit, the code and its SMS; a ballot is the lock, the
    code, then the campaign's lock, one read of the tip and duplicates, and two inserts. The
    campaign is read once per couple of seconds, not per request. (Counts include the test's
    savepoints, two per transaction, and PostgreSQL's `SET LOCAL`.)"""
    campaign = make_campaign(world)
    # A first voter: the campaign is now in the cache and the chain has a tip
    first = "13800001000"
    response = cast(client, campaign, [1], code=ask_code(client, campaign, first), mobile=first)
    assert response.status_code == 201
    with django_assert_max_num_queries(7):
        assert ask(client, campaign).status_code == 202
    code = latest_code(normalize_mobile(MOBILE))
    with django_assert_max_num_queries(12):
        assert cast(client, campaign, [1, 2], code=code).status_code == 201

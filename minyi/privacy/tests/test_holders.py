"""The holders of personal data beyond the spine: case parties, volunteers, votes (ballots,
paper keyings, followers of an action), community notice subscriptions and reminders' due
items. Each one row just inside its period (untouched) and one just outside (blanked, the keyed
hash kept); the votes' hash chain still verifies and one ballot per mobile still holds; the
export finds them by the number, within the actor's subtree."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from minyi.cases.models import Case, CaseParty, CaseProgress
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, make_case
from minyi.community.models import NoticeSubscription
from minyi.community.tests.factories import make_area
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Role
from minyi.privacy.export import citizen_data_export
from minyi.privacy.registry import REDACTED
from minyi.privacy.services import personal_data_purge
from minyi.privacy.tests.factories import CITIZEN, OTHER, PERIOD
from minyi.reminders.models import DueItem
from minyi.reminders.tests.factories import make_item
from minyi.volunteers.models import Volunteer, VolunteerStatus
from minyi.volunteers.services import volunteer_register
from minyi.volunteers.tests.factories import make_volunteer
from minyi.votes.actions import follow, plan_create, unfollow
from minyi.votes.ballots import ballot_cast
from minyi.votes.chain import chain_verify
from minyi.votes.models import ActionFollower, Ballot, CampaignStatus, PaperEntry
from minyi.votes.paper import sheet_key
from minyi.votes.tests.factories import make_campaign

pytestmark = pytest.mark.django_db

OLD, YOUNG = PERIOD + 1, PERIOD - 1  # days before `now`


def _ended_case(world, number, *, now, days, stage="closed", **extra):
    case = make_case(world, number, **extra)
    Case.objects.filter(pk=case.pk).update(stage=stage, stage_at=now - timedelta(days=days))
    return CaseParty.objects.get(case=case)


def test_case_parties_blanked_a_period_after_the_case_ended(world, periods, now):
    old = _ended_case(world, "A1", now=now, days=OLD)
    not_filed = _ended_case(world, "A2", now=now, days=OLD, stage="not_filed")
    young = _ended_case(world, "A3", now=now, days=YOUNG)
    # A case still under investigation keeps its parties, however old its last step.
    open_case = _ended_case(world, "A4", now=now, days=OLD * 3, stage="investigating")

    personal_data_purge(now=now, job="test")

    for party in (old, not_filed):
        party.refresh_from_db()
        assert (party.name, party.id_number, party.mobile) == ("", "", "")
        assert party.id_number_hash == lookup_hash("id", PARTY_ID)
        assert party.mobile_hash == lookup_hash("mobile", PARTY_MOBILE)
    for party in (young, open_case):
        party.refresh_from_db()
        assert (party.id_number, party.mobile) == (PARTY_ID, PARTY_MOBILE)


def test_case_progress_notes_redacted_a_text_period_after_the_case_ended(world, periods, now):
    old = _ended_case(world, "A1", now=now, days=OLD).case
    young = _ended_case(world, "A2", now=now, days=YOUNG).case

    personal_data_purge(now=now, job="test")

    assert CaseProgress.objects.get(case=old, stage="filed").note == REDACTED
    assert CaseProgress.objects.get(case=young, stage="filed").note == "已立案侦查"


def test_volunteers_blanked_a_period_after_they_left_never_while_active(world, periods, now):
    unit = world.station_a2
    left = make_volunteer(unit, mobile=CITIZEN, status=VolunteerStatus.WITHDRAWN)
    Volunteer.objects.filter(pk=left.pk).update(withdrawn_at=now - timedelta(days=OLD))
    recent = make_volunteer(
        unit, status=VolunteerStatus.WITHDRAWN, withdrawn_at=now - timedelta(days=YOUNG)
    )
    active = make_volunteer(unit)
    Volunteer.objects.filter(pk=active.pk).update(consent_at=now - timedelta(days=OLD * 10))

    personal_data_purge(now=now, job="test")

    left.refresh_from_db()
    assert (left.name, left.mobile, left.mobile_hash) == ("", "", lookup_hash("mobile", CITIZEN))
    recent.refresh_from_db()
    active.refresh_from_db()
    assert recent.mobile and recent.name and active.mobile and active.name
    # Registering again finds the same row by the kept hash and stores the number anew.
    again = volunteer_register(actor=None, unit=unit, name="李四", mobile=CITIZEN, consent=True)
    assert again.pk == left.pk and again.mobile == CITIZEN


def _past_campaign(world, now, *, closed_days):
    """A campaign that ran for ten days and closed `closed_days` before `now`."""
    closes_at = now - timedelta(days=closed_days)
    return make_campaign(world, opens_at=closes_at - timedelta(days=10), closes_at=closes_at)


def _close(*campaigns, status=CampaignStatus.CLOSED):
    for campaign in campaigns:
        type(campaign).objects.filter(pk=campaign.pk).update(status=status)


def test_ballots_blanked_chain_still_verifies_and_one_per_mobile_holds(world, periods, now):
    # Given ballots cast before the period in a campaign closed before it, in one closed
    # inside it, and in one still running
    closed_long_ago = _past_campaign(world, now, closed_days=OLD)
    closed_lately = _past_campaign(world, now, closed_days=YOUNG)
    cast = now - timedelta(days=OLD + 5)
    old = ballot_cast(closed_long_ago, mobile=CITIZEN, choices=[1], now=cast)
    young = ballot_cast(closed_lately, mobile=OTHER, choices=[2], now=now - timedelta(days=OLD))
    running = make_campaign(world, opens_at=now - timedelta(days=OLD * 2))
    kept = ballot_cast(running, mobile=CITIZEN, choices=[1], now=now - timedelta(days=OLD))
    _close(closed_long_ago, closed_lately)

    # When the purge runs
    personal_data_purge(now=now, job="test")

    # Then only the first number is blanked, its vote untouched
    old.refresh_from_db()
    assert old.mobile == "" and old.choices == "10000"
    young.refresh_from_db()
    kept.refresh_from_db()
    assert (young.mobile, kept.mobile) == (OTHER, CITIZEN)
    # And the chain, which hashes the voter's key and never the number, still verifies
    assert chain_verify(closed_long_ago).ok
    out = StringIO()
    call_command("votes_verify", "--campaign", closed_long_ago.code, stdout=out)
    assert f"{closed_long_ago.code}: OK" in out.getvalue()
    # And the key alone still refuses a second ballot from the number (the campaign opened
    # again here only to let the service answer)
    _close(closed_long_ago, status=CampaignStatus.OPEN)
    closed_long_ago.refresh_from_db()
    with pytest.raises(ApplicationError) as exc:
        ballot_cast(closed_long_ago, mobile=CITIZEN, choices=[3], now=cast)
    assert exc.value.code == "already_voted"
    assert Ballot.objects.filter(campaign=closed_long_ago).count() == 1


def _key_sheet(clerk, campaign, serial, mobile, now):
    return sheet_key(
        clerk, campaign, serial=serial, mobile=mobile, unreadable=False, choices=[1], now=now
    )


def test_paper_keyings_blanked_once_the_sheet_is_settled(world, periods, now):
    clerks = world.user("a2", Role.EVALUATOR), world.user("a2", Role.ADMIN)
    closed_long_ago = _past_campaign(world, now, closed_days=OLD)
    closed_lately = _past_campaign(world, now, closed_days=YOUNG)
    keyed = now - timedelta(days=OLD + 5)
    for clerk in clerks:
        _key_sheet(clerk, closed_long_ago, "S-1", CITIZEN, keyed)
        _key_sheet(clerk, closed_lately, "S-2", OTHER, keyed)
    # Keyed once only: the second keying may still need the number.
    _key_sheet(clerks[0], closed_long_ago, "S-3", "13900003333", keyed)
    _close(closed_long_ago, closed_lately)

    personal_data_purge(now=now, job="test")

    by_serial = {}
    for entry in PaperEntry.objects.select_related("sheet"):
        by_serial.setdefault(entry.sheet.serial, set()).add((entry.mobile, entry.mobile_hash))
    assert by_serial["S-1"] == {("", lookup_hash("mobile", CITIZEN))}
    assert by_serial["S-2"] == {(OTHER, lookup_hash("mobile", OTHER))}
    assert by_serial["S-3"] == {("13900003333", lookup_hash("mobile", "13900003333"))}
    assert chain_verify(closed_long_ago).ok


def _plan(world):
    campaign = make_campaign(world, status=CampaignStatus.PUBLISHED)
    return plan_create(
        world.user("a2", Role.SUPERVISOR), campaign.options.get(number=1), unit=world.station_a2
    )


def test_followers_and_subscriptions_blanked_a_period_after_they_stopped(world, periods, now):
    plan, area = _plan(world), make_area(world.station_a2)
    numbers = {"stopped_long_ago": CITIZEN, "stopped_lately": OTHER, "active": "13900003333"}
    for name, stopped_days in [("stopped_long_ago", OLD), ("stopped_lately", YOUNG)]:
        follow(plan, numbers[name], now=now - timedelta(days=OLD * 5))
        unfollow(plan, numbers[name], now=now - timedelta(days=stopped_days))
        NoticeSubscription.objects.create(
            area=area,
            mobile=numbers[name],
            mobile_hash=lookup_hash("mobile", numbers[name]),
            created_at=now - timedelta(days=OLD * 5),
            stopped_at=now - timedelta(days=stopped_days),
        )
    follow(plan, numbers["active"], now=now - timedelta(days=OLD * 5))
    NoticeSubscription.objects.create(
        area=area,
        mobile=numbers["active"],
        mobile_hash=lookup_hash("mobile", numbers["active"]),
        created_at=now - timedelta(days=OLD * 5),
    )

    personal_data_purge(now=now, job="test")

    for model in (ActionFollower, NoticeSubscription):
        held = {row.mobile_hash: row.mobile for row in model.objects.all()}
        assert held == {
            lookup_hash("mobile", CITIZEN): "",
            lookup_hash("mobile", OTHER): OTHER,
            lookup_hash("mobile", "13900003333"): "13900003333",
        }, model
    # Following again stores the number anew.
    assert follow(plan, CITIZEN, now=now).mobile == CITIZEN


def test_due_items_blanked_a_period_after_their_due_date(world, periods, now):
    today = timezone.localdate(now)
    old = make_item(world.station_a2, external_id="old", mobile=CITIZEN, now=now, due_in=0)
    young = make_item(world.station_a2, external_id="young", mobile=OTHER, now=now, due_in=0)
    DueItem.objects.filter(pk=old.pk).update(due_date=today - timedelta(days=OLD + 1))
    DueItem.objects.filter(pk=young.pk).update(due_date=today - timedelta(days=YOUNG))

    personal_data_purge(now=now, job="test")

    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.mobile, old.mobile_hash) == ("", lookup_hash("mobile", CITIZEN))
    assert young.mobile == OTHER


@pytest.fixture
def held(world, now):
    """The citizen's rows in every new holder at station a2, the same for another number, and
    the citizen's volunteer registration at the sibling station a1."""
    unit = world.station_a2
    plan, area = _plan(world), make_area(unit)
    campaign = make_campaign(world)
    for mobile in (CITIZEN, OTHER):
        make_case(
            world,
            f"C{mobile}",
            parties=[
                {
                    "role": "victim",
                    "name": f"当事人{mobile[-4:]}",
                    "id_number": PARTY_ID,
                    "mobile": mobile,
                    "notify": True,
                }
            ],
        )
        make_volunteer(unit, name=f"志愿者{mobile[-4:]}", mobile=mobile)
        ballot_cast(campaign, mobile=mobile, choices=[2], now=now)
        follow(plan, mobile, now=now)
        NoticeSubscription.objects.create(
            area=area, mobile=mobile, mobile_hash=lookup_hash("mobile", mobile)
        )
        make_item(unit, external_id=f"X{mobile}", mobile=mobile, now=now)
    for clerk in (world.user("a2", Role.EVALUATOR), world.user("a2", Role.ADMIN)):
        sheet_key(clerk, campaign, serial="P-1", mobile=CITIZEN, unreadable=False, choices=[1])
    make_volunteer(world.station_a1, name="甲一所志愿者", mobile=CITIZEN)
    # A confidential case is never admitted to, not even in an export.
    make_case(
        world,
        "SECRET-1",
        confidential=True,
        parties=[
            {
                "role": "victim",
                "name": "涉密当事人",
                "id_number": PARTY_ID,
                "mobile": CITIZEN,
                "notify": True,
            }
        ],
    )


NEW_HOLDERS = (
    "cases.CaseParty",
    "volunteers.Volunteer",
    "votes.Ballot",
    "votes.ActionFollower",
    "community.NoticeSubscription",
    "reminders.DueItem",
)


def test_export_holds_the_citizens_rows_in_every_new_holder(world, held):
    export = citizen_data_export(actor=world.user("a2", Role.SUPERVISOR), mobile=CITIZEN)

    rows = export["held"]
    for model in NEW_HOLDERS:
        assert len(rows[model]) == 1, model
        assert rows[model][0]["mobile"] == CITIZEN, model
    assert rows["cases.CaseParty"][0]["name"] == "当事人1111"
    assert rows["volunteers.Volunteer"][0]["name"] == "志愿者1111"
    # How the citizen voted is not exported; the receipt is.
    assert "choices" not in rows["votes.Ballot"][0] and rows["votes.Ballot"][0]["receipt"]
    assert len(rows["votes.PaperEntry"]) == 2
    text = json.dumps(export, ensure_ascii=False, default=str)
    assert OTHER not in text and "当事人2222" not in text and "志愿者2222" not in text
    assert "涉密当事人" not in text and "SECRET-1" not in text
    assert "甲一所志愿者" not in text


def test_export_of_the_whole_city_adds_the_sibling_station(world, held):
    export = citizen_data_export(actor=world.user("a", Role.SUPERVISOR), mobile=CITIZEN)
    names = sorted(v["name"] for v in export["held"]["volunteers.Volunteer"])
    assert names == ["志愿者1111", "甲一所志愿者"]
    assert not any(
        citizen_data_export(actor=world.user("b1", Role.SUPERVISOR), mobile=CITIZEN)[
            "held"
        ].values()
    )

"""Offline intake (线下录入), what protects the citizen: a tipster's name and address only in
the hands of who may see them, no SMS at night nor to a number that opted out, no paper older
than KEY_IN_MAX_AGE_DAYS, the online daily quota untouched by what staff key in, and the
clerk told when chosen photos must be chosen again."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OptOut, SmsPurpose
from minyi.opinions import forms as opinion_forms
from minyi.opinions.forms import KeyInForm
from minyi.opinions.models import Opinion, OpinionKind
from minyi.opinions.services.handling import opinion_answer
from minyi.opinions.services.intake import KEY_IN_MAX_AGE_DAYS, POSTAL_ADDRESS_MAX
from minyi.opinions.services.letters import opinion_letter_print
from minyi.opinions.tests.factories import make_opinion, png_upload
from minyi.opinions.tests.permission_cases import LETTER_ADDRESS
from minyi.opinions.tests.test_offline import ANSWER, MOBILE, NOW, TZ, _form, _key_in, _sms_to
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
# A Wednesday evening inside the quiet hours (21:00-08:00) and the morning they end.
NIGHT = datetime(2026, 11, 18, 22, 30, tzinfo=TZ)
MORNING = datetime(2026, 11, 19, 8, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _quiet_hours_kept(settings):
    # The demo's "send now" would make night look like day.
    settings.DEMO_MODE = False
    settings.DEMO_IGNORE_QUIET_HOURS = False


# --- A tip answered by letter ----------------------------------------------------------------


def _tip_letter(world):
    leader = world.user("a2", Role.UNIT_LEADER)
    tip = _key_in(
        world,
        kind=OpinionKind.TIP,
        contact_name="钱举报",
        postal_address=LETTER_ADDRESS,
        consent=True,
    )
    return opinion_answer(actor=leader, opinion=tip, text=ANSWER, now=NOW)


def test_a_tips_letter_is_refused_without_the_right_to_see_the_tipster(world):
    tip = _tip_letter(world)
    with pytest.raises(PermissionDenied) as exc:
        opinion_letter_print(actor=world.user("a2", Role.UNIT_LEADER), opinion=tip, now=NOW)
    assert "举报人" in str(exc.value.message)
    denied = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert denied.outcome == AuditOutcome.DENIED and denied.detail["kind"] == OpinionKind.TIP
    tip.refresh_from_db()
    assert tip.letter_printed_at is None

    # Who may see a tipster's identity (and handle opinions) prints it, audited
    boss = UserFactory(username="boss", role=Role.SUPERVISOR, unit=world.city, is_superuser=True)
    letter = opinion_letter_print(actor=boss, opinion=tip, now=NOW)
    assert (letter.name, letter.address) == ("钱举报", LETTER_ADDRESS)
    assert AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, outcome=AuditOutcome.SUCCESS
    ).exists()


def test_a_tips_page_offers_no_letter_to_a_unit_and_the_pdf_is_refused(client, world):
    tip = _tip_letter(world)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    body = client.get(reverse("opinions:opinion_detail", args=[tip.pk])).content.decode()
    assert 'data-testid="print-letter"' not in body and LETTER_ADDRESS not in body

    response = client.post(reverse("opinions:opinion_letter", args=[tip.pk]))
    assert response.status_code == 403
    assert b"%PDF" not in response.content and LETTER_ADDRESS not in response.content.decode()
    assert AuditEvent.objects.get(action=AuditAction.PII_REVEAL).outcome == AuditOutcome.DENIED


# --- SMS to a citizen who gave the number on paper -------------------------------------------


def test_a_keyed_in_acknowledgement_and_answer_wait_for_the_morning(world):
    # Keyed in at 22:30 from a letter received three days before
    opinion = _key_in(
        world, mobile=MOBILE, consent=True, now=NIGHT, received_at=NIGHT - timedelta(days=3)
    )
    ack = _sms_to(MOBILE).get()
    assert ack.purpose == SmsPurpose.ACKNOWLEDGEMENT and ack.not_before == MORNING
    assert opinion.number in ack.body

    opinion_answer(
        actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion, text=ANSWER, now=NIGHT
    )
    answer = _sms_to(MOBILE).latest("id")
    assert answer.purpose == SmsPurpose.ACKNOWLEDGEMENT and answer.not_before == MORNING

    # By day they go at once
    day = NIGHT + timedelta(days=1, hours=-12)
    _key_in(world, mobile=MOBILE, consent=True, now=day, received_at=day - timedelta(hours=1))
    assert _sms_to(MOBILE).latest("id").not_before == day


def test_an_online_opinion_is_still_acknowledged_at_once_at_night(world):
    make_opinion(world, mobile=MOBILE, now=NIGHT)
    sms = _sms_to(MOBILE).get()
    assert sms.purpose == SmsPurpose.NOTIFICATION and sms.not_before == NIGHT


def test_a_keyed_in_citizen_who_opted_out_gets_no_sms(world):
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", MOBILE), source="sms")
    opinion = _key_in(world, mobile=MOBILE, consent=True)
    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion, text=ANSWER, now=NOW)
    assert not _sms_to(MOBILE).exists()
    # The answer is kept and readable on the look-up page all the same
    opinion.refresh_from_db()
    assert opinion.answer == ANSWER


# --- How long ago the paper came -------------------------------------------------------------


def test_a_paper_older_than_the_limit_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        _key_in(world, received_at=NOW - timedelta(days=KEY_IN_MAX_AGE_DAYS, minutes=1))
    assert exc.value.code == "received_too_old" and exc.value.field == "received_at"
    assert f"{KEY_IN_MAX_AGE_DAYS} 天前" in str(exc.value.message)
    assert not Opinion.objects.exists()

    kept = _key_in(world, received_at=NOW - timedelta(days=KEY_IN_MAX_AGE_DAYS - 1))
    assert kept.submitted_at == NOW - timedelta(days=KEY_IN_MAX_AGE_DAYS - 1)


def test_key_in_page_refuses_a_mistyped_year(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    last_year = (timezone.localtime() - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("opinions:opinion_key_in"), _form(world, received_at=last_year))
    assert response.status_code == 400
    assert f"收到时间不能早于 {KEY_IN_MAX_AGE_DAYS} 天前" in response.content.decode()
    assert not Opinion.objects.exists()


# --- The online daily quota ------------------------------------------------------------------


def test_keyed_in_opinions_do_not_use_up_the_online_quota(world, settings):
    settings.OPINIONS_PER_MOBILE_DAY = 2
    for _n in range(2):
        _key_in(world, mobile=MOBILE, consent=True)
    # The citizen still sends as many online that day…
    for _n in range(2):
        make_opinion(world, mobile=MOBILE, now=NOW)
    # …and no more
    with pytest.raises(ApplicationError) as exc:
        make_opinion(world, mobile=MOBILE, now=NOW)
    assert exc.value.code == "too_many_opinions"


# --- The form ----------------------------------------------------------------------------------


def test_the_address_limit_message_is_built_when_the_form_is(world, monkeypatch):
    # A message formatted at import time would not follow the request's language.
    monkeypatch.setattr(opinion_forms, "gettext", lambda text: f"[en] {text}")
    form = KeyInForm(
        _form(world, postal_address="路" * (POSTAL_ADDRESS_MAX + 1), consent="on"),
        user=world.user("a2", Role.UNIT_LEADER),
    )
    assert not form.is_valid()
    assert form.errors["postal_address"] == [f"[en] 通信地址不能超过 {POSTAL_ADDRESS_MAX} 个字。"]


def test_photos_sent_with_a_refused_form_are_asked_for_again(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    url = reverse("opinions:opinion_key_in")
    response = client.post(url, _form(world, channel="", paper=png_upload("letter.png")))
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="paper-again"' in body and "请重新选择" in body

    # Without photos there is nothing to choose again
    body = client.post(url, _form(world, channel="")).content.decode()
    assert 'data-testid="paper-again"' not in body
    assert not Opinion.objects.exists()


def test_photos_are_asked_for_again_when_the_service_refuses(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.post(
        reverse("opinions:opinion_key_in"),
        # The form takes any text as a mobile; the service refuses a wrong one
        _form(world, mobile="1390000", consent="on", paper=png_upload("letter.png")),
    )
    assert response.status_code == 400
    assert 'data-testid="paper-again"' in response.content.decode()
    assert not Opinion.objects.exists()

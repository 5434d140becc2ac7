"""The survey loop through a real Kannel (bearerbox, smsbox, fakesmsc on loopback): an
ingested event becomes an SMS at the fake SMSC, the citizen's reply comes back through
Kannel's get-url and answers the survey, an unsatisfied reply opens a callback, and a
repeated reply counts once."""

import time
import urllib.request

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.integrations.sms.backends.kannel import KannelBackend
from minyi.integrations.sms.models import InboundSms, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import outbox_send_batch
from minyi.integrations.sms.tests.kannel_harness import KannelHarness
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.orgs.tests.factories import make_world
from minyi.perception.models import SatisfactionDaily, Survey, SurveyStatus
from minyi.perception.services.replies import inbound_process_pending
from minyi.perception.services.surveys import surveys_dispatch_due, surveys_schedule_pending
from minyi.perception.tests.factories import business_types

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "e2e-callback-token"
CITIZEN = "13912345678"


def _until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def kannel(live_server):
    inbound = f"{live_server.url}/sms/kannel/inbound?token={TOKEN}"
    with KannelHarness(mo_url=inbound) as k:  # noqa: SIM117 (the settings need k)
        with override_settings(
            SMS_BACKEND="kannel",
            KANNEL_SENDSMS_URL=k.sendsms_url,
            KANNEL_USERNAME=k.sendsms_username,
            KANNEL_PASSWORD=k.sendsms_password,
            SMS_CALLBACK_TOKEN=TOKEN,
            PUBLIC_BASE_URL=live_server.url,
            SURVEY_QUIET_START=24,
            SURVEY_QUIET_END=0,
        ):
            yield k


def test_event_to_sms_to_reply_to_callback(kannel, live_server):
    world = make_world()
    business_types()
    _, key = apikey_create(actor=world.user("a", Role.ADMIN), name="110", unit=world.district_a)

    # Given an event pushed by a business system
    response = Client().post(
        "/api/v1/events",
        {
            "events": [
                {
                    "source": "110",
                    "external_id": "JJ-1",
                    "business_type": "jcj_110",
                    "unit": world.station_a1.code,
                    "citizen_mobile": CITIZEN,
                    "occurred_at": timezone.now().isoformat(),
                }
            ]
        },
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.json()["accepted"] == 1

    # When the survey is due and the sender runs
    surveys_schedule_pending()
    Survey.objects.update(send_at=timezone.now())
    assert surveys_dispatch_due() == 1
    assert outbox_send_batch(backend=KannelBackend()) == 1

    # Then the fake SMSC received it, Chinese intact, with the survey link
    survey = Survey.objects.get()
    [mt] = kannel.wait_for_mt(count=1, timeout=10)
    assert mt.receiver == CITIZEN
    assert world.station_a1.name in mt.text and f"/s/{survey.token}" in mt.text
    # And Kannel's delivery reports reached Minyi
    message = OutboundSms.objects.get()
    _until(lambda: OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.DELIVERED)

    # When the citizen answers 不满意 from their phone
    kannel.send_mo(CITIZEN, "10690000", "4 等了两个小时才来")

    # Then Kannel's get-url stored it, and the worker's batch answers the survey and queues
    # a callback
    _until(InboundSms.objects.exists)
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.SENT
    assert inbound_process_pending() == 1
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.ANSWERED
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "等了两个小时才来")
    assert Callback.objects.filter(survey=survey).exists()

    # And Kannel repeating the same get-url (same %I) counts once
    inbound = InboundSms.objects.get()
    replay = (
        f"{live_server.url}/sms/kannel/inbound?token={TOKEN}&id={inbound.gateway_message_id}"
        f"&from={CITIZEN}&text=4"
    )
    with urllib.request.urlopen(replay, timeout=5) as answer:
        assert answer.status == 200
    assert InboundSms.objects.count() == 1
    assert inbound_process_pending() == 0
    assert SatisfactionDaily.objects.get().replies == 1
    assert Callback.objects.count() == 1

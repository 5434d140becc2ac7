"""Kannel's calls back into Minyi: incoming SMS (get-url) and delivery reports (dlr-url)."""

import pytest
from django.urls import reverse

from minyi.integrations.sms.models import InboundSms, OutboundStatus
from minyi.integrations.sms.services import sms_enqueue
from minyi.perception.services.replies import inbound_process_batch

pytestmark = pytest.mark.django_db
TOKEN = "callback-secret"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.SMS_CALLBACK_TOKEN = TOKEN


def _inbound(client, **params):
    return client.get(reverse("sms:kannel_inbound"), {"token": TOKEN, **params})


def test_incoming_sms_is_stored_once_per_gateway_id(client, world, django_assert_num_queries):
    params = {"id": "abc-1", "from": "+8613800001111", "to": "10690000", "text": "不满意，等太久"}
    # Stored in one INSERT and answered at once; a repeat inserts nothing and fails nothing.
    with django_assert_num_queries(1):
        assert _inbound(client, **params).status_code == 200
    with django_assert_num_queries(2):  # the INSERT that inserts nothing, then a SELECT
        assert _inbound(client, **params).status_code == 200  # Kannel repeats
    inbound = InboundSms.objects.get()
    assert inbound.from_mobile == "13800001111"
    assert inbound.text == "不满意，等太久"
    assert inbound.status == "received"  # read by the worker's next batch
    assert inbound_process_batch() == {inbound.pk: "no_open_survey"}
    inbound.refresh_from_db()
    assert inbound.status == "needs_review"  # no open survey for this number


def test_odd_sender_is_kept_as_given(client, world):
    _inbound(client, id="abc-2", **{"from": "95588", "text": "1"})
    inbound_process_batch()
    inbound = InboundSms.objects.get()
    assert (inbound.from_raw, inbound.review_reason) == ("95588", "invalid_sender")


@pytest.mark.parametrize("token", ["", "wrong"])
def test_bad_token_is_refused_and_nothing_stored(client, db, token):
    response = client.get(
        reverse("sms:kannel_inbound"),
        {"token": token, "id": "1", "from": "13800001111", "text": "1"},
    )
    assert response.status_code == 403
    assert not InboundSms.objects.exists()


def test_missing_fields_are_400(client, db):
    assert _inbound(client, text="1").status_code == 400


def test_delivery_report_updates_the_message_once(client, db):
    message = sms_enqueue(mobile="13800001111", body="x", purpose="notification")
    url = reverse("sms:kannel_dlr")
    for _ in range(2):
        assert client.get(url, {"token": TOKEN, "id": message.pk, "type": 1}).status_code == 200
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED
    assert message.reports.count() == 1
    assert client.get(url, {"token": TOKEN, "id": 999999, "type": 1}).status_code == 404
    assert client.get(url, {"token": TOKEN, "id": "x", "type": 1}).status_code == 400


def test_demo_phones_only_in_demo_mode_and_for_staff(client, world, settings):
    settings.DEMO_MODE = True
    assert client.get(reverse("sms:demo_phones")).status_code == 302  # sign in first
    client.force_login(world.user("a1", "evaluator"))
    assert client.get(reverse("sms:demo_phones")).status_code == 200
    settings.DEMO_MODE = False
    assert client.get(reverse("sms:demo_phones")).status_code == 404
    assert (
        client.post(
            reverse("sms:demo_phone_reply"), {"mobile": "13800001111", "text": "1"}
        ).status_code
        == 404
    )


def test_demo_phone_reply_goes_through_the_real_path(client, world, settings):
    settings.DEMO_MODE = True
    client.force_login(world.user("a1", "evaluator"))
    client.post(reverse("sms:demo_phone_reply"), {"mobile": "13800001111", "text": "5"})
    inbound = InboundSms.objects.get()
    assert inbound.gateway == "console"
    assert inbound.status == "received"  # the worker of `make run` reads it
    inbound_process_batch()
    inbound.refresh_from_db()
    assert inbound.status == "needs_review"


def test_ucs2_text_without_mo_recode_is_decoded(client, world):
    # Kannel without mo-recode passes UCS-2 text through as UTF-16BE bytes.
    from urllib.parse import quote

    text = quote("不满意".encode("utf-16-be"))
    url = (
        f"{reverse('sms:kannel_inbound')}?token={TOKEN}&id=u1&from=13800001111"
        f"&text={text}&coding=2&charset=UTF-16BE"
    )
    assert client.get(url).status_code == 200
    assert InboundSms.objects.get().text == "不满意"


def test_delivery_report_keeps_no_token_and_bounds_its_type(client, db):
    message = sms_enqueue(mobile="13800001111", body="x", purpose="notification")
    url = reverse("sms:kannel_dlr")
    client.get(url, {"token": TOKEN, "id": message.pk, "type": 8})
    assert TOKEN not in message.reports.get().raw
    assert client.get(url, {"token": TOKEN, "id": message.pk, "type": 99999}).status_code == 400

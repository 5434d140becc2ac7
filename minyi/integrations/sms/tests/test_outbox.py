"""The outbox sends each message once: claims do not overlap, a killed sender's messages are
resolved before any retry, a gateway that is down loses nothing, repeated reports count once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.integrations.sms.backends import SendOutcome, SendResult
from minyi.integrations.sms.models import DeliveryReport, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import (
    DLR_ACCEPTED,
    DLR_DELIVERED,
    dlr_record,
    outbox_claim,
    outbox_recover,
    outbox_send_batch,
    sms_enqueue,
)

pytestmark = pytest.mark.django_db


class Gateway:
    """A scripted gateway that records what it was given."""

    name = "scripted"

    def __init__(self, outcome=SendOutcome.ACCEPTED):
        self.outcome = outcome
        self.sent = []

    def send(self, message):
        self.sent.append(message.pk)
        return SendResult(self.outcome, "scripted")


def _queue(n=3):
    return [
        sms_enqueue(mobile=f"1380000{i:04d}", body=f"消息{i}", purpose="notification")
        for i in range(n)
    ]


def test_claims_do_not_overlap():
    _queue(5)
    first, second = outbox_claim(limit=3), outbox_claim(limit=3)
    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)
    assert not outbox_claim(limit=3)


def test_accepted_then_delivered_by_report_and_repeats_count_once():
    gateway = Gateway()
    [message] = _queue(1)
    outbox_send_batch(backend=gateway)
    assert OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.SENT
    assert dlr_record(message_id=message.pk, dlr_type=DLR_DELIVERED)
    assert not dlr_record(message_id=message.pk, dlr_type=DLR_DELIVERED)
    # A late "accepted by SMSC" report does not move it back.
    dlr_record(message_id=message.pk, dlr_type=DLR_ACCEPTED)
    assert OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.DELIVERED
    assert DeliveryReport.objects.count() == 2


def test_gateway_down_messages_wait_and_go_later():
    down = Gateway(SendOutcome.RETRY)
    messages = _queue(2)
    outbox_send_batch(backend=down)
    waiting = OutboundSms.objects.filter(status=OutboundStatus.QUEUED)
    assert waiting.count() == 2
    assert all(m.not_before > timezone.now() for m in waiting)
    OutboundSms.objects.update(not_before=timezone.now())
    up = Gateway()
    outbox_send_batch(backend=up)
    assert sorted(up.sent) == sorted(m.pk for m in messages)


def test_killed_sender_is_resolved_by_the_gateways_report_not_resent(settings):
    [message] = _queue(1)
    outbox_claim(limit=1)  # … and the sender dies before recording the outcome
    later = timezone.now() + timedelta(seconds=settings.SMS_CLAIM_LEASE_SECONDS + 1)
    assert outbox_recover(now=later)["unknown"] == 1
    dlr_record(message_id=message.pk, dlr_type=DLR_ACCEPTED)  # the gateway had it
    much_later = later + timedelta(seconds=settings.SMS_UNKNOWN_GRACE_SECONDS + 1)
    assert outbox_recover(now=much_later)["requeued"] == 0
    assert OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.SENT


def test_killed_sender_with_gateway_silence_is_resent_once(settings):
    [message] = _queue(1)
    outbox_claim(limit=1)
    later = timezone.now() + timedelta(seconds=settings.SMS_CLAIM_LEASE_SECONDS + 1)
    outbox_recover(now=later)
    # Not yet: the gateway may still report it.
    assert outbox_recover(now=later)["requeued"] == 0
    much_later = later + timedelta(seconds=settings.SMS_UNKNOWN_GRACE_SECONDS + 1)
    assert outbox_recover(now=much_later)["requeued"] == 1
    gateway = Gateway()
    outbox_send_batch(backend=gateway)
    assert gateway.sent == [message.pk]


def test_unknown_outcome_is_never_retried_blindly():
    [message] = _queue(1)
    outbox_send_batch(backend=Gateway(SendOutcome.UNKNOWN))
    assert OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.UNKNOWN
    again = Gateway()
    outbox_send_batch(backend=again)
    assert again.sent == []


def test_permanent_rejection_fails_without_retry():
    [message] = _queue(1)
    outbox_send_batch(backend=Gateway(SendOutcome.REJECTED))
    assert OutboundSms.objects.get(pk=message.pk).status == OutboundStatus.FAILED


def test_a_one_time_code_still_queued_after_its_lifetime_is_not_sent_late():
    # Given a code SMS and a staff notice queued while the gateway was down for 11 minutes
    code = sms_enqueue(mobile="13800000001", body="验证码 123456", purpose="otp")
    notice = sms_enqueue(mobile="13800000002", body="新工单", purpose="notification")
    later = timezone.now() + timedelta(minutes=11)
    # When the worker recovers
    assert outbox_recover(now=later)["stale_codes"] == 1
    # Then the code is failed, never sent, and the notice is still queued
    code.refresh_from_db()
    notice.refresh_from_db()
    assert code.status == OutboundStatus.FAILED
    assert notice.status == OutboundStatus.QUEUED
    assert outbox_claim(now=later) == [notice.pk]

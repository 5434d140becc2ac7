"""The worker's sender thread: it streams the outbox beside the worker's other tasks, reports
what it sent to the task that asks, and ends when there is nothing left to send."""

import threading
import time

import pytest

from minyi.integrations.sms import stream
from minyi.integrations.sms.backends import SendOutcome, SendResult
from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.integrations.sms.services import sms_enqueue

pytestmark = pytest.mark.django_db(transaction=True)


class SlowGateway:
    name = "slow"
    concurrency = 4
    timeout = 1.0

    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()

    def send(self, message) -> SendResult:
        time.sleep(0.005)
        with self.lock:
            self.sent.append(message.pk)
        return SendResult(SendOutcome.ACCEPTED, "0: Accepted for delivery")


def test_the_thread_sends_each_message_once_reports_it_and_ends(monkeypatch):
    gateway = SlowGateway()
    monkeypatch.setattr(stream, "get_backend", lambda: gateway)
    monkeypatch.setattr(stream, "IDLE_SECONDS", 0.2)
    monkeypatch.setattr(stream, "_current", None)
    ids = [
        sms_enqueue(mobile=f"1360000{i:04d}", body=f"消息{i}", purpose="notification").pk
        for i in range(60)
    ]

    # When the task runs twice, the thread having ended in between
    first = stream.outbox_send_in_background()
    stream._current.join(timeout=30)
    second = stream.outbox_send_in_background()
    stream._current.join(timeout=30)

    # Then every message went out once, and the two reports together count them all
    assert sorted(gateway.sent) == ids
    assert first["sent"] + second["sent"] == 60
    assert set(OutboundSms.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
    assert not stream._current.is_alive()

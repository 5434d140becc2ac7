"""Two sender processes over one outbox: each message goes to the gateway exactly once.

Both stream the same 2,000 queued messages at the same moment (PostgreSQL: the claim is one
UPDATE over a `FOR UPDATE SKIP LOCKED` selection), through a gateway that writes each
message's id to a shared file. Row locks need PostgreSQL; the suite runs it there in CI.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.backends import SendOutcome, SendResult
from minyi.integrations.sms.models import OutboundSms, OutboundStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"),
]
MESSAGES = 2_000
LOG_ENV, GO_ENV = "MINYI_TEST_GATEWAY_LOG", "MINYI_TEST_GATEWAY_GO"


class FileGateway:
    """A gateway that appends each message's id to a file (one write, O_APPEND: lines from
    both processes never interleave) and takes a millisecond to answer."""

    name = "file"
    concurrency = 4
    timeout = 1.0

    def __init__(self):
        self.fd = os.open(os.environ[LOG_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def send(self, message) -> SendResult:
        os.write(self.fd, f"{message.pk} {os.getpid()}\n".encode())
        time.sleep(0.001)
        return SendResult(SendOutcome.ACCEPTED, "0: Accepted for delivery")


SENDER = f"""
import os, time
from pathlib import Path
from minyi.integrations.sms.services import outbox_send_stream
from minyi.integrations.sms.tests.test_sender_pair import FileGateway
gateway = FileGateway()
while not Path(os.environ["{GO_ENV}"]).exists():
    time.sleep(0.005)
while outbox_send_stream(backend=gateway, batch=50):
    pass
"""


def test_two_senders_send_each_message_exactly_once(tmp_path):
    # Given 2,000 queued messages and two sender processes waiting for the same signal
    OutboundSms.objects.bulk_create(
        OutboundSms(
            to_mobile=f"137{i:08d}",
            to_mobile_hash=lookup_hash("mobile", f"137{i:08d}"),
            body=f"两个发送进程 第{i}条",
            purpose="notification",
        )
        for i in range(MESSAGES)
    )
    conf = settings.DATABASES["default"]
    log, go = tmp_path / "gateway.log", tmp_path / "go"
    env = {
        **os.environ,
        "MINYI_DATABASE_URL": (
            f"postgres://{conf['USER']}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/"
            f"{connection.settings_dict['NAME']}"
        ),
        "MINYI_LOG_LEVEL": "WARNING",
        LOG_ENV: str(log),
        GO_ENV: str(go),
    }
    senders = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", SENDER],
            cwd=Path(settings.BASE_DIR),
            env=env,
        )
        for _ in range(2)
    ]
    try:
        # When both start sending at once
        time.sleep(0.5)
        go.touch()
        for sender in senders:
            assert sender.wait(timeout=240) == 0
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()

    # Then the gateway got every message exactly once, and both senders did their share
    lines = [line.split() for line in log.read_text().splitlines()]
    sent = Counter(int(pk) for pk, _pid in lines)
    ids = set(OutboundSms.objects.values_list("id", flat=True))
    assert set(sent) == ids
    assert max(sent.values()) == 1
    assert len({pid for _pk, pid in lines}) == 2
    assert set(OutboundSms.objects.values_list("status", "attempts")) == {(OutboundStatus.SENT, 1)}

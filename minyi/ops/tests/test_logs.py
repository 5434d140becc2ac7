"""Logs carry no personal data (issue 19): a survey loop driven for real (API ingest, the
worker's tasks, the console SMS backend, a citizen's reply through the gateway callback, the
evaluator's callback) and requests that fail validation, with every logger at DEBUG and the
SQL logged. Neither the records as the code wrote them nor the JSON lines the root handler
prints contain a mobile or an ID number. The formatters' masking, the safety net behind that
rule, is tested on its own."""

import io
import json
import logging
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from minyi.callbacks.models import Attribution, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.integrations.sms.models import InboundSms, OutboundSms, OutboundStatus
from minyi.integrations.sms.tasks import outbox_send_task
from minyi.ops.logs import JsonFormatter, TextFormatter
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.perception.models import ReasonTag, Survey
from minyi.perception.tasks import (
    inbound_process_task,
    surveys_dispatch_task,
    surveys_schedule_task,
)
from minyi.workorders.tests.factories import first_callback, open_centres

MOBILE = "13912345678"
ID_NUMBER = "330602198506150031"
FORBIDDEN = (MOBILE, ID_NUMBER, "139-1234-5678")


class _Raw(logging.Handler):
    """Keeps each record's text as the code wrote it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.texts.append(f"{record.name}: {text}")


@pytest.fixture
def logged():
    """Every logger at DEBUG, the SQL included; the root handler writing JSON lines to a
    buffer; a handler beside it keeping the records as written."""
    root = logging.getLogger()
    console = next(h for h in root.handlers if isinstance(h.formatter, TextFormatter))
    buffer, raw = io.StringIO(), _Raw()
    stream, formatter, level = console.stream, console.formatter, root.level
    console.setStream(buffer)
    console.setFormatter(JsonFormatter())
    root.setLevel(logging.DEBUG)
    root.handlers.insert(0, raw)
    sql = logging.getLogger("django.db.backends")
    sql_level, connection.force_debug_cursor = sql.level, True
    sql.setLevel(logging.DEBUG)
    yield raw, buffer
    sql.setLevel(sql_level)
    connection.force_debug_cursor = False
    root.handlers.remove(raw)
    root.setLevel(level)
    console.setFormatter(formatter)
    console.setStream(stream)


def _leaks(text):
    return [value for value in FORBIDDEN if value in text]


@pytest.mark.django_db
def test_a_survey_loop_and_refused_requests_log_no_mobile_or_id_number(
    client, world, btypes, daytime, settings, logged
):
    raw, buffer = logged
    settings.SMS_CALLBACK_TOKEN = "gateway-secret"
    open_centres(world)
    key = apikey_create(actor=world.user("a", Role.ADMIN), name="接处警", unit=world.district_a)[1]
    event = {
        "source": "jcj",
        "external_id": "J1",
        "business_type": "jcj_110",
        "unit": world.station_a2.code,
        "officers": [world.officers["a2"].police_number],
        "citizen_mobile": MOBILE,
        "occurred_at": (timezone.now() - timedelta(hours=2)).isoformat(),
    }

    # Given an event pushed through the API, surveyed and sent by the worker's tasks
    answer = client.post(
        "/api/v1/events", {"events": [event]}, content_type="application/json", HTTP_X_API_KEY=key
    )
    assert answer.json()["accepted"] == 1
    surveys_schedule_task.call()
    Survey.objects.update(send_at=timezone.now())
    surveys_dispatch_task.call()
    assert outbox_send_task.call()["sent"] == 1
    assert OutboundSms.objects.get().status == OutboundStatus.DELIVERED  # the console backend
    # When the citizen answers unsatisfied through the gateway's callback, and it is read
    reply = {"token": "gateway-secret", "id": "k1", "from": MOBILE, "text": f"4 {ID_NUMBER}"}
    assert client.get("/sms/kannel/inbound", reply).status_code == 200
    inbound_process_task.call()
    assert InboundSms.objects.get().status != "received"
    # … and an evaluator calls back
    survey = Survey.objects.get()
    evaluator = world.user("a", Role.EVALUATOR)
    callback = callback_claim(actor=evaluator, callback=first_callback(survey))
    callback_record(
        actor=evaluator,
        callback=callback,
        outcome=CallOutcome.REACHED,
        note=f"回拨{MOBILE}",
        reason_text="等太久",
        tags=[ReasonTag.ATTITUDE],
        attribution=Attribution.EXPLAINED,
    )
    # And requests that fail validation, each naming the numbers
    refused = [
        client.post(
            "/api/v1/events",
            {"events": [{**event, "external_id": "J2", "business_type": ID_NUMBER}]},
            content_type="application/json",
            HTTP_X_API_KEY=key,
        ),
        client.post(
            "/api/v1/events",
            {"events": [{**event, "citizen_mobile": int(MOBILE)}]},
            content_type="application/json",
            HTTP_X_API_KEY=key,
        ),
        client.post("/api/v1/events", f'{{"events": [{MOBILE}', content_type="application/json"),
        client.get("/sms/kannel/inbound", {**reply, "token": "wrong"}),
        client.get("/sms/kannel/inbound", {"token": "gateway-secret", "from": MOBILE}),
    ]
    assert [r.status_code >= 400 or r.json()["rejected"] for r in refused] == [True] * 5

    # Then nothing the code logged, nor any line the production handler printed, has them
    assert len(raw.texts) > 50 and any("django.db.backends" in t for t in raw.texts)
    assert any(t.startswith("django.request") for t in raw.texts)  # the refusals were logged
    for text in raw.texts:
        assert not _leaks(text), f"logged as written: {text[:200]}"
    lines = buffer.getvalue().splitlines()
    assert len(lines) == len(raw.texts)
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert not _leaks(line), f"printed: {line[:200]}"


@pytest.mark.parametrize("formatter", [TextFormatter("%(message)s %(caller)s"), JsonFormatter()])
def test_the_formatters_mask_numbers_in_message_arguments_extras_and_tracebacks(formatter):
    try:
        raise ValueError(f"bad id {ID_NUMBER}")
    except ValueError:
        record = logging.getLogger("minyi.test").makeRecord(
            "minyi.test",
            logging.ERROR,
            __file__,
            1,
            "sent to %s and %s",
            (MOBILE, "139-1234-5678"),
            exc_info=sys.exc_info(),
            extra={"caller": f"+86 {MOBILE}", "count": 3},
        )
    text = formatter.format(record)
    assert not _leaks(text)
    # … and only in the line: the record other handlers see is as the code wrote it
    assert record.getMessage() == f"sent to {MOBILE} and 139-1234-5678"
    assert "139****5678" in text and "3306**********0031" in text and "139-****-5678" in text
    if isinstance(formatter, JsonFormatter):
        entry = json.loads(text)
        assert entry["count"] == 3 and entry["caller"] == "+86 139****5678"
        assert entry["level"] == "ERROR" and "ValueError" in entry["exc"]


def test_the_formatters_leave_other_numbers_alone():
    record = logging.makeLogRecord({"msg": "outbox sent %d of %s", "args": (120, "2026-12-04")})
    assert TextFormatter("%(message)s").format(record) == "outbox sent 120 of 2026-12-04"
    assert json.loads(JsonFormatter().format(record))["message"] == "outbox sent 120 of 2026-12-04"

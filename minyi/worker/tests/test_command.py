"""`manage.py worker`: one round takes a contact all the way to a sent survey SMS."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.tests.factories import make_event

pytestmark = pytest.mark.django_db(transaction=True)  # the worker manages its connection


def test_one_round_decides_dispatches_and_sends(world, btypes, daytime):
    # Given a contact 40 minutes ago, past the 30-minute delay before its survey
    event = make_event(world.station_a1, occurred_at=timezone.now() - timedelta(minutes=40))
    out = StringIO()
    # When the worker runs one round with the project's schedule
    call_command("worker", "--once", stdout=out)
    # Then the survey was decided, put in the outbox and sent, in that order
    survey = Survey.objects.get(event=event)
    assert survey.status == SurveyStatus.SENT
    assert OutboundSms.objects.get(survey=survey).status == OutboundStatus.DELIVERED  # console
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("worker: scheduling")
    # (the sender's line goes on with where its time went)
    sent = next(i for i, line in enumerate(lines) if line.split(" ")[0] == "sent=1")
    assert lines.index("scheduled=1") < lines.index("dispatched=1") < sent
    # And nothing it enqueued is left waiting; nothing failed
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {TaskResultStatus.SUCCESSFUL}


def test_schedule_only_enqueues_and_runs_nothing(world):
    call_command("worker", "--once", "--schedule-only", stdout=StringIO())
    assert DBTaskResult.objects.exists()
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.READY}

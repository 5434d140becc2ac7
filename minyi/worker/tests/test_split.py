"""`manage.py worker --jobs` / `--skip-jobs`: the SMS senders as processes of their own
(deploy/systemd/minyi-sender@.service) beside workers that do everything else."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.integrations.sms.tasks import outbox_send_task
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.tasks import surveys_dispatch_task
from minyi.perception.tests.factories import make_event
from minyi.worker.models import ScheduledJob

pytestmark = pytest.mark.django_db(transaction=True)  # the worker manages its connection

SENDER_JOBS = "outbox_send,outbox_recover"


def test_worker_beside_senders_decides_and_dispatches_but_sends_nothing(world, btypes, daytime):
    # Given a contact past the delay before its survey
    event = make_event(world.station_a1, occurred_at=timezone.now() - timedelta(minutes=40))
    # When a worker that leaves the sending to senders runs one round
    out = StringIO()
    call_command("worker", "--once", "--skip-jobs", SENDER_JOBS, stdout=out)
    # Then the survey is in the outbox, unsent, and the sender's jobs were never enqueued
    survey = Survey.objects.get(event=event)
    assert OutboundSms.objects.get(survey=survey).status == OutboundStatus.QUEUED
    names = set(ScheduledJob.objects.values_list("name", flat=True))
    assert {"surveys_schedule", "surveys_dispatch"} <= names
    assert not names & {"outbox_send", "outbox_recover"}
    assert not DBTaskResult.objects.filter(task_path=outbox_send_task.module_path).exists()

    # When a sender runs one round
    out = StringIO()
    call_command("worker", "--once", "--jobs", SENDER_JOBS, stdout=out)
    # Then it sent the message, and scheduled its two jobs only
    assert OutboundSms.objects.get(survey=survey).status == OutboundStatus.DELIVERED  # console
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.SENT
    assert (
        out.getvalue().splitlines()[0] == "worker: scheduling 2 jobs, running tasks from 'default'"
    )


def test_sender_leaves_other_tasks_in_the_queue_and_worker_leaves_the_sending(world):
    # Given a dispatch and a send enqueued by someone else (a page, another scheduler)
    dispatch = surveys_dispatch_task.enqueue()
    send = outbox_send_task.enqueue()
    # When a sender runs one round, it runs the send only
    call_command("worker", "--once", "--jobs", SENDER_JOBS, stdout=StringIO())
    assert DBTaskResult.objects.get(pk=send.id).status == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(pk=dispatch.id).status == TaskResultStatus.READY
    # And a worker beside senders never runs a send
    send = outbox_send_task.enqueue()
    call_command("worker", "--once", "--skip-jobs", SENDER_JOBS, stdout=StringIO())
    assert DBTaskResult.objects.get(pk=dispatch.id).status == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(pk=send.id).status == TaskResultStatus.READY


@pytest.mark.parametrize(
    "args",
    [
        ["--jobs", "outbox_send,no_such_job"],
        ["--skip-jobs", "nope"],
        ["--jobs", "outbox_send", "--skip-jobs", "outbox_recover"],
    ],
)
def test_a_wrong_job_list_fails_at_start(world, args):
    with pytest.raises(CommandError):
        call_command("worker", "--once", *args, stdout=StringIO())
    assert not DBTaskResult.objects.exists()

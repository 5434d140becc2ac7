"""The scheduler: each job on its own clock, one waiting run at a time, sweeps that work
through a backlog, a failing job that stops nothing, a wrong schedule that fails at start."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from minyi.worker.runner import TaskRunner
from minyi.worker.scheduler import found_work, load_schedule, schedule_due
from minyi.worker.services import task_results_prune
from minyi.worker.tests import jobs

pytestmark = pytest.mark.django_db(transaction=True)  # the runner manages its connection

PATH = "minyi.worker.tests.jobs."


@pytest.fixture(autouse=True)
def _clean_jobs():
    jobs.RUNS.clear()
    jobs.RETURNS.clear()


def _schedule(**entries):
    return load_schedule(
        {name: {"task": PATH + task, **opts} for name, (task, opts) in entries.items()}
    )


def _run_ready() -> int:
    return TaskRunner(backend_name="default", interval=0).run_round()


def test_jobs_run_on_their_own_clocks():
    schedule = _schedule(
        often=("often_task", {"every": 300}),
        daily=("daily_task", {"every": 86400, "at_start": False}),
    )
    t0 = timezone.now()
    # At start the frequent job is enqueued and the daily one waits a day
    assert schedule_due(schedule, now=t0) == ["often"]
    _run_ready()
    # Within its period nothing is enqueued again
    assert schedule_due(schedule, now=t0 + timedelta(seconds=200)) == []
    # After five minutes the frequent one again; after a day the daily one too
    assert schedule_due(schedule, now=t0 + timedelta(seconds=300)) == ["often"]
    _run_ready()
    assert schedule_due(schedule, now=t0 + timedelta(days=1)) == ["often", "daily"]
    _run_ready()
    assert jobs.RUNS == ["often", "often", "often", "daily"]


def test_a_job_waits_while_its_last_run_waits_or_runs():
    schedule = _schedule(often=("often_task", {"every": 60}))
    t0 = timezone.now()
    assert schedule_due(schedule, now=t0) == ["often"]
    # Given no worker took it, a period later it is not queued twice
    assert schedule_due(schedule, now=t0 + timedelta(seconds=120)) == []
    assert DBTaskResult.objects.count() == 1
    # Given a worker took it and is still at it, nor then
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=t0)
    assert schedule_due(schedule, now=t0 + timedelta(minutes=5)) == []
    # A run still marked running after ten minutes lost its worker: enqueued again
    assert schedule_due(schedule, now=t0 + timedelta(minutes=10)) == ["often"]


def test_a_sweep_works_through_a_backlog_and_may_overlap():
    schedule = _schedule(sweep=("sweep_task", {"every": 60, "sweep": True}))
    jobs.RETURNS["sweep"] = [{"sent": 200}, {"sent": 0}]
    t0 = timezone.now()
    assert schedule_due(schedule, now=t0) == ["sweep"]
    _run_ready()
    # A run that found work is followed at once by the next, whatever the period
    assert schedule_due(schedule, now=t0 + timedelta(seconds=1)) == ["sweep"]
    _run_ready()
    # One that found nothing waits for the period
    assert schedule_due(schedule, now=t0 + timedelta(seconds=2)) == []
    assert schedule_due(schedule, now=t0 + timedelta(seconds=62)) == ["sweep"]
    # A sweep's run still running does not hold back the next (several workers share it)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        status=TaskResultStatus.RUNNING, started_at=t0 + timedelta(seconds=62)
    )
    assert schedule_due(schedule, now=t0 + timedelta(seconds=122)) == ["sweep"]


def test_a_failing_job_does_not_stop_the_others():
    schedule = _schedule(broken=("broken_task", {"every": 60}), often=("often_task", {"every": 60}))
    t0 = timezone.now()
    assert schedule_due(schedule, now=t0) == ["broken", "often"]
    assert _run_ready() == 2
    assert jobs.RUNS == ["broken", "often"]
    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 1
    # The failed job is tried again a period later
    assert schedule_due(schedule, now=t0 + timedelta(seconds=60)) == ["broken", "often"]


def test_several_schedulers_enqueue_a_job_once():
    schedule = _schedule(often=("often_task", {"every": 60}))
    now = timezone.now()
    assert schedule_due(schedule, now=now) == ["often"]
    assert (
        schedule_due(load_schedule({"often": {"task": PATH + "often_task", "every": 60}}), now=now)
        == []
    )
    assert DBTaskResult.objects.count() == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"task": "minyi.worker.tests.jobs.no_such_task", "every": 60},
        {"task": "minyi.no_such_app.tasks.job", "every": 60},
        {"task": PATH + "not_a_task", "every": 60},
        {"task": PATH + "often_task", "every": 0},
        {"task": PATH + "often_task"},
        {"task": PATH + "often_task", "every": 60, "evry": 5},
    ],
)
def test_a_wrong_schedule_fails_at_start(entry):
    with pytest.raises(ImproperlyConfigured):
        load_schedule({"job": entry})


def test_the_settings_schedule_names_real_tasks():
    # Every job of settings.WORKER_SCHEDULE imports (a task moved to another app fails here)
    names = [job.name for job in load_schedule()]
    assert {"surveys_dispatch", "outbox_send", "warnings_compute", "tagger_train"} <= set(names)


def test_found_work():
    assert found_work(3)
    assert found_work({"sent": 0, "inbound": 2})
    assert not found_work({"sent": 0})
    assert not found_work({"trained": True, "code": "x"})
    assert not found_work(None)


def test_old_results_are_pruned():
    schedule = _schedule(often=("often_task", {"every": 60}), broken=("broken_task", {"every": 60}))
    schedule_due(schedule)
    _run_ready()
    now = timezone.now()
    # Within the hour both stay; after it the success goes, the failure stays two weeks
    assert task_results_prune(now=now) == 0
    assert task_results_prune(now=now + timedelta(hours=1, seconds=1)) == 1
    assert DBTaskResult.objects.get().status == TaskResultStatus.FAILED
    assert task_results_prune(now=now + timedelta(days=15)) == 1

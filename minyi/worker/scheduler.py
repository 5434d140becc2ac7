"""The scheduler: enqueues the jobs of settings.WORKER_SCHEDULE when they are due.

The schedule names each job's task by dotted path, so the worker imports no app: an app adds
a job by writing a `@task` in its `tasks.py` and a line in the schedule. A job is due when
its period has passed since it was last enqueued and its last run is neither waiting nor
running. A *sweep* (a job that claims its rows with SKIP LOCKED) may overlap a running one,
so several workers share a backlog, and a sweep whose last run found work is due again at
once, so a backlog is worked through instead of being paced by the period. Several
schedulers may run at once: each job's row is locked (SKIP LOCKED) while it is enqueued.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from minyi.worker.models import ScheduledJob

# A run still marked running this long after it started is taken for dead (its worker was
# killed) and the job is enqueued again; at least one period.
PRESUMED_DEAD_AFTER = timedelta(minutes=10)
_OPTIONS = {"task", "every", "sweep", "at_start", "kwargs"}


@dataclass(frozen=True)
class Job:
    name: str
    task: Task
    every: timedelta
    sweep: bool = False
    at_start: bool = True  # False: the first run one period after the job is first seen
    kwargs: dict = field(default_factory=dict)

    @property
    def presumed_dead_after(self) -> timedelta:
        return max(self.every, PRESUMED_DEAD_AFTER)


def load_schedule(schedule: dict | None = None) -> list[Job]:
    """The jobs of settings.WORKER_SCHEDULE, checked: a wrong path fails at start, loudly."""
    schedule = settings.WORKER_SCHEDULE if schedule is None else schedule
    jobs = []
    for name, options in schedule.items():
        unknown = set(options) - _OPTIONS
        if unknown or "task" not in options or "every" not in options:
            raise ImproperlyConfigured(
                f"WORKER_SCHEDULE[{name!r}] needs 'task' and 'every' and takes only "
                f"{sorted(_OPTIONS)}; got {sorted(options)}"
            )
        try:
            task = import_string(options["task"])
        except ImportError as exc:
            raise ImproperlyConfigured(f"WORKER_SCHEDULE[{name!r}]: {exc}") from exc
        if not isinstance(task, Task):
            raise ImproperlyConfigured(f"WORKER_SCHEDULE[{name!r}]: {options['task']} is no task")
        if options["every"] <= 0:
            raise ImproperlyConfigured(f"WORKER_SCHEDULE[{name!r}]: 'every' must be positive")
        jobs.append(
            Job(
                name=name,
                task=task,
                every=timedelta(seconds=options["every"]),
                sweep=options.get("sweep", False),
                at_start=options.get("at_start", True),
                kwargs=options.get("kwargs", {}),
            )
        )
    return jobs


def select_jobs(jobs: list[Job], *, only=(), skip=()) -> list[Job]:
    """The jobs this process takes on: `only` these (a sender: `outbox_send,outbox_recover`),
    or all but `skip` (the workers beside such senders). A name not in the schedule fails."""
    unknown = (set(only) | set(skip)) - {job.name for job in jobs}
    if unknown:
        raise ImproperlyConfigured(f"no such job in WORKER_SCHEDULE: {sorted(unknown)}")
    if only and skip:
        raise ImproperlyConfigured("name the jobs to run, or the jobs to skip, not both")
    return [job for job in jobs if (job.name in only if only else job.name not in skip)]


def found_work(value) -> bool:
    """A run found work when it returns a positive count, or a dict holding one."""
    if isinstance(value, dict):
        return any(found_work(v) for v in value.values())
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _last_run(job: Job, result_id: str):
    if not result_id or not job.task.get_backend().supports_get_result:
        return None
    try:
        return job.task.get_result(result_id)
    except (TaskResultDoesNotExist, TaskResultMismatch):  # pruned, or the job's task changed
        return None


def _last_runs(jobs: list[Job], states: dict) -> dict:
    """Each job's last run by job name (None: pruned, or never run). One query for the jobs
    on the database backend: the scheduler asks every round."""
    on_db = {job.name for job in jobs if isinstance(job.task.get_backend(), DatabaseBackend)}
    ids = [states[name].result_id for name in on_db if states[name].result_id]
    stored = {str(row.id): row for row in DBTaskResult.objects.filter(id__in=ids)} if ids else {}
    runs = {}
    for job in jobs:
        result_id = states[job.name].result_id
        if job.name in on_db:
            row = stored.get(result_id)
            runs[job.name] = (
                row.task_result if row and row.task_path == job.task.module_path else None
            )
        else:
            runs[job.name] = _last_run(job, result_id)
    return runs


def _period_passed(job: Job, state: ScheduledJob, now) -> bool:
    return state.enqueued_at is None or now - state.enqueued_at >= job.every


def _is_due(job: Job, state: ScheduledJob, last, now) -> bool:
    if last is not None:
        if last.status == TaskResultStatus.READY:
            return False  # still waiting for a worker: one in the queue is enough
        if (
            last.status == TaskResultStatus.RUNNING
            and not job.sweep
            and last.started_at
            and now - last.started_at < job.presumed_dead_after
        ):
            return False
        if (
            job.sweep
            and last.status == TaskResultStatus.SUCCESSFUL
            and found_work(last.return_value)
        ):
            return True
    return _period_passed(job, state, now)


@transaction.atomic
def _enqueue(job: Job, now) -> bool:
    state = ScheduledJob.objects.select_for_update(skip_locked=True).filter(name=job.name).first()
    if state is None or not _is_due(job, state, _last_run(job, state.result_id), now):
        return False  # another scheduler holds it, or has just enqueued it
    result = job.task.enqueue(**job.kwargs)
    state.enqueued_at = now
    state.result_id = str(result.id)
    state.save(update_fields=["enqueued_at", "result_id"])
    return True


def schedule_due(jobs: list[Job], *, now=None) -> list[str]:
    """Enqueue every job that is due; returns their names."""
    now = now or timezone.now()
    names = [job.name for job in jobs]
    states = ScheduledJob.objects.in_bulk(names, field_name="name")
    missing = [job for job in jobs if job.name not in states]
    if missing:
        ScheduledJob.objects.bulk_create(
            [
                ScheduledJob(name=job.name, enqueued_at=None if job.at_start else now)
                for job in missing
            ],
            ignore_conflicts=True,
        )
        states = ScheduledJob.objects.in_bulk(names, field_name="name")
    # A job whose period has not passed can be due only as a sweep that found work.
    candidates = [job for job in jobs if job.sweep or _period_passed(job, states[job.name], now)]
    last = _last_runs(candidates, states)
    return [
        job.name
        for job in candidates
        if _is_due(job, states[job.name], last[job.name], now) and _enqueue(job, now)
    ]

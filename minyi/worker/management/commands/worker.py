"""`manage.py worker`: the background worker, the one process `make run` starts for it.

Each round it enqueues the jobs of settings.WORKER_SCHEDULE that are due (minyi.worker.
scheduler) and runs ready tasks, scheduled or enqueued by a page or a command, until none is
left; it sleeps `--interval` only when a round found nothing to do. Run as many as the load
needs, on as many machines: they share the queue (SKIP LOCKED on PostgreSQL) and the
schedule (a job is enqueued once, whoever is first). `--schedule-only` leaves running tasks
to other workers (`db_worker`, or the workers of a backend other than the database's).
`--jobs outbox_send,outbox_recover` schedules and runs those jobs only (a process that only
sends SMS, deploy/systemd/minyi-sender@.service); `--skip-jobs` the same names leaves them to
such processes (neither scheduled nor run here). docs/architecture.md, "Background work";
docs/deployment.md, "Production layout".
"""

import logging
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
from django_tasks.signals import task_finished
from django_tasks_db.backend import DatabaseBackend

from minyi.worker.runner import TaskRunner
from minyi.worker.scheduler import found_work, load_schedule, schedule_due, select_jobs

log = logging.getLogger(__name__)
# Every task's start and end at INFO is a line a second; what a task did is printed instead.
_QUIET_BELOW_VERBOSITY_2 = ("django_tasks", "django_tasks_db")


def job_names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def summary(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items() if v)
    return str(value)


class Command(BaseCommand):
    help = "Run the background worker: enqueue scheduled jobs when due and run tasks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds to wait when idle (default 1)"
        )
        parser.add_argument(
            "--once", action="store_true", help="one round (enqueue, run until idle), then exit"
        )
        parser.add_argument(
            "--schedule-only", action="store_true", help="enqueue when due; run no tasks here"
        )
        parser.add_argument(
            "--jobs",
            type=job_names,
            default=[],
            help="comma-separated jobs of WORKER_SCHEDULE: schedule and run only these",
        )
        parser.add_argument(
            "--skip-jobs",
            type=job_names,
            default=[],
            help="comma-separated jobs left to other processes: neither scheduled nor run here",
        )

    def handle(self, *args, interval, once, schedule_only, jobs, skip_jobs, verbosity, **options):
        if verbosity < 2:
            for name in _QUIET_BELOW_VERBOSITY_2:
                logging.getLogger(name).setLevel(logging.WARNING)
        schedule = load_schedule()
        try:
            taken = select_jobs(schedule, only=jobs, skip=skip_jobs)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        paths = {job.name: job.task.module_path for job in schedule}
        # The tasks of skipped jobs are left to the processes that take them, whoever enqueued
        # them (unless a job taken here runs the same task).
        only = frozenset(paths[name] for name in jobs)
        skip = frozenset(paths[name] for name in skip_jobs) - {j.task.module_path for j in taken}
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        runner = None
        if not schedule_only:
            if not isinstance(backend, DatabaseBackend):
                raise CommandError(
                    f"tasks go to {type(backend).__name__}: run its own workers and "
                    "`manage.py worker --schedule-only`"
                )
            runner = TaskRunner(backend_name=backend.alias, interval=interval, only=only, skip=skip)
            if not once:
                runner.configure_signals()  # Ctrl-C, SIGTERM: the running task ends first
        self.stdout.write(
            f"worker: scheduling {len(taken)} jobs"
            + ("" if runner is None else f", running tasks from {backend.alias!r}")
        )
        task_finished.connect(self.report)
        try:
            while runner is None or runner.running:
                close_old_connections()
                try:
                    schedule_due(taken)
                except Exception:  # the database away for a moment: the next round retries
                    log.exception("worker: scheduling failed; retrying")
                ran = runner.run_round() if runner else 0
                if once:
                    break
                if not ran:
                    time.sleep(interval)
        finally:
            task_finished.disconnect(self.report)

    def report(self, sender, task_result, **kwargs):
        if task_result.status == TaskResultStatus.SUCCESSFUL and found_work(
            task_result.return_value
        ):
            self.stdout.write(summary(task_result.return_value))

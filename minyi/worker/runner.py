"""Running tasks in the worker's own process: django-tasks-db's worker, in rounds.

Each round takes ready tasks from the database backend (SELECT … FOR UPDATE SKIP LOCKED on
PostgreSQL, so any number of workers and `db_worker` processes share the queue) until none
is left, then hands back to the scheduler, which enqueues what has become due meanwhile.
A runner may take only some tasks (`only`, by dotted path: a process that only sends SMS) or
leave some to other processes (`skip`); by default it takes every task.
"""

from django.db import OperationalError, close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception


class TaskRunner(Worker):
    def __init__(
        self,
        *,
        backend_name: str,
        interval: float,
        only: frozenset[str] = frozenset(),
        skip: frozenset[str] = frozenset(),
    ):
        super().__init__(
            queue_names=["*"],
            interval=interval,  # only to wait out a locked SQLite database
            batch=True,  # a round ends when no task is ready
            backend_name=backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        self.only = frozenset(only)
        self.skip = frozenset(skip)
        self.tasks_run = 0

    def run_task(self, db_task_result) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.tasks_run += 1

    def claim_next(self):
        """The next ready task this runner takes, claimed; None when there is none (or the
        SQLite database is locked for a moment: the next round tries again)."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if self.only:
            tasks = tasks.filter(task_path__in=self.only)
        if self.skip:
            tasks = tasks.exclude(task_path__in=self.skip)
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return None
                raise
            if task_result is not None:
                task_result.claim(self.worker_id)
        return task_result

    def run_round(self) -> int:
        """Run ready tasks until none is left; returns how many ran."""
        before = self.tasks_run
        while self.running and (task_result := self.claim_next()) is not None:
            self.run_task(task_result)
            close_old_connections()  # as django-tasks-db's worker does between tasks
        return self.tasks_run - before

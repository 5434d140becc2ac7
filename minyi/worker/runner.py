"""Running tasks in the worker's own process: django-tasks-db's worker, in rounds.

Each round takes ready tasks from the database backend (SELECT … FOR UPDATE SKIP LOCKED on
PostgreSQL, so any number of workers and `db_worker` processes share the queue) until none
is left, then hands back to the scheduler, which enqueues what has become due meanwhile.
"""

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker


class TaskRunner(Worker):
    def __init__(self, *, backend_name: str, interval: float):
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
        self.tasks_run = 0

    def run_task(self, db_task_result) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.tasks_run += 1

    def run_round(self) -> int:
        """Run ready tasks until none is left; returns how many ran."""
        before = self.tasks_run
        self.run()
        return self.tasks_run - before

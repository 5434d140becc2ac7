"""Background work for three-colour warnings: the computation, hourly on
settings.WORKER_SCHEDULE (or nightly from cron with `manage.py compute_warnings`, e.g. 02:40,
after the day's callbacks are in). Running it more often is harmless: rows change only when a
colour does.
"""

from django_tasks import task

from minyi.warnings.services import WINDOW_DAYS, warnings_compute


@task()
def compute_warnings_task(window_days: int = WINDOW_DAYS) -> dict:
    return warnings_compute(window_days=window_days)

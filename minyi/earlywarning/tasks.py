"""Background work for three-colour warnings: the nightly computation.

Schedule `compute_warnings_task.enqueue()` (or `manage.py compute_warnings`) once a night,
after the day's callbacks are in, e.g. 02:30 local time. Running it more often is harmless:
rows change only when a colour does.
"""

from django_tasks import task

from minyi.earlywarning.services import WINDOW_DAYS, warnings_compute


@task()
def compute_warnings_task(window_days: int = WINDOW_DAYS) -> dict:
    return warnings_compute(window_days=window_days)

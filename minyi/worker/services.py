"""The worker's own housekeeping."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

# The sweeps leave a successful result every few seconds: kept an hour. A failure is the
# record of what went wrong: kept two weeks, as is a run still marked running that long
# (its worker was killed).
KEEP_SUCCESSFUL = timedelta(hours=1)
KEEP_FAILED = timedelta(days=14)


def task_results_prune(*, now=None) -> int:
    """Delete old task results from the database backend; returns how many went."""
    now = now or timezone.now()
    deleted, _rows = DBTaskResult.objects.filter(
        Q(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - KEEP_SUCCESSFUL)
        | Q(status=TaskResultStatus.FAILED, finished_at__lt=now - KEEP_FAILED)
        | Q(status=TaskResultStatus.RUNNING, started_at__lt=now - KEEP_FAILED)
    ).delete()
    return deleted

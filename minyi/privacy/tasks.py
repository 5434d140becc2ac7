"""The daily retention purge, run by `manage.py worker` on settings.WORKER_SCHEDULE."""

from django_tasks import task

from minyi.privacy.services import personal_data_purge


@task()
def personal_data_purge_task() -> dict:
    results = personal_data_purge(job="worker:privacy_purge")
    return {"purged_rows": sum(r.rows for r in results)}

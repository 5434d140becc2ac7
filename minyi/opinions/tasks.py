"""Background work for opinions: reminders, escalation and closing unrated answers, run by
`manage.py worker` on settings.WORKER_SCHEDULE."""

from django_tasks import task

from minyi.opinions.services.sweep import opinions_sweep


@task()
def opinions_sweep_task() -> dict:
    return {f"opinions_{k}": v for k, v in opinions_sweep().items()}

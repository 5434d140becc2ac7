"""Tasks for the scheduler's tests: each records that it ran and returns what it is told."""

from django_tasks import task

RUNS: list[str] = []
RETURNS: dict[str, list] = {}


def _run(name: str):
    RUNS.append(name)
    queued = RETURNS.get(name)
    return queued.pop(0) if queued else {}


@task()
def often_task() -> dict:
    return _run("often")


@task()
def daily_task() -> dict:
    return _run("daily")


@task()
def sweep_task() -> dict:
    return _run("sweep")


@task()
def broken_task() -> dict:
    RUNS.append("broken")
    raise RuntimeError("database away")


not_a_task = object()

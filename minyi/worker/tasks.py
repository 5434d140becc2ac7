"""The worker's own job on settings.WORKER_SCHEDULE: pruning finished task results."""

from django_tasks import task

from minyi.worker.services import task_results_prune


@task()
def task_results_prune_task() -> dict:
    return {"results_pruned": task_results_prune()}

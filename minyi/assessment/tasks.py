"""Background work for the assessment: a confirmed business-figure import runs in the worker."""

from django_tasks import task

from minyi.assessment.figures import figures_import_run


@task()
def business_figures_import_task(import_id: int) -> dict:
    """Run a confirmed business-figure import (all or nothing)."""
    record = figures_import_run(import_id)
    return {"status": record.status, "rows": record.result.get("rows", 0)}

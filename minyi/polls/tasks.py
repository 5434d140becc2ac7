"""Background work for polls: the sweeps `manage.py worker` runs on settings.WORKER_SCHEDULE.
Each returns its counts; a sweep that found work runs again at once."""

from django_tasks import task

from minyi.polls.collection import (
    poll_invitations_dispatch_due,
    poll_invitations_remind_and_expire,
)
from minyi.polls.services import poll_import_run

# --- Collection in Minyi (平台短信测评) ----------------------------------------------------


@task()
def poll_invite_task() -> dict:
    """Put the poll invitations that are due in the outbox (never at night)."""
    return poll_invitations_dispatch_due()


@task()
def poll_remind_task() -> dict:
    """Expire unanswered poll invitations; remind once those still open."""
    return poll_invitations_remind_and_expire()


# --- Imports (民意测评导入) ------------------------------------------------------------------


@task()
def poll_import_task(import_id: int) -> dict:
    """Run a confirmed poll import (respondents, then weighting; or population margins)."""
    record = poll_import_run(import_id)
    return {"status": record.status, "rows": record.result.get("rows", 0)}

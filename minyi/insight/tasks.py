"""Background work for insight: tagging new citizen texts (every minute, and a full pass
daily) and retraining the reason tagger (daily on settings.WORKER_SCHEDULE, and when an
administrator asks on 原因标签模型)."""

from django_tasks import task

from minyi.core.errors import ApplicationError
from minyi.insight.services import tagger_train, texts_tag_pending
from minyi.orgs.models import User


@task()
def tagger_train_task(actor_id: int | None = None, seed: int = 0) -> dict:
    """Retrain the reason tagger on the confirmed reasons; returns what happened."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        model = tagger_train(actor=actor, seed=seed)
    except ApplicationError as exc:  # too little data yet: not a failure worth a retry
        return {"trained": False, "code": exc.code}
    return {"trained": True, "version": model.version, "active": model.is_active}


@task()
def texts_tag_task(full: bool = False) -> dict:
    """Tag the citizen texts that arrived since the last pass (every source); `full` reads
    every row again (daily)."""
    return texts_tag_pending(full=full)

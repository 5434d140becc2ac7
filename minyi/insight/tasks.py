"""Background work for insight: retraining the reason tagger (schedule nightly)."""

from django_tasks import task

from minyi.core.errors import ApplicationError
from minyi.insight.services import tagger_train


@task()
def tagger_train_task(actor_id: int | None = None, seed: int = 0) -> dict:
    """Retrain the reason tagger on the confirmed reasons; returns what happened."""
    from minyi.orgs.models import User

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        model = tagger_train(actor=actor, seed=seed)
    except ApplicationError as exc:  # too little data yet: not a failure worth a retry
        return {"trained": False, "code": exc.code}
    return {"trained": True, "version": model.version, "active": model.is_active}

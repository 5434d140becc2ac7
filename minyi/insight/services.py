"""Writes for insight: training the reason tagger (capability 7)."""

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction
from minyi.insight import tagging
from minyi.insight.models import TaggerModel
from minyi.insight.selectors import confirmed_reasons

# Fewer confirmed examples than this and a model is kept for the record but not activated:
# the keyword rules go on suggesting.
MIN_TRAINING_EXAMPLES = 100
# Below this there is nothing to split into a training and a test part.
MIN_SPLIT_EXAMPLES = 10


def min_activation_examples() -> int:
    return int(getattr(settings, "TAGGER_MIN_TRAINING_EXAMPLES", MIN_TRAINING_EXAMPLES))


def tagger_train(
    *, actor=None, test_fraction: float = 0.2, seed: int = 0, min_tag_examples: int | None = None
) -> TaggerModel:
    """Train the reason tagger on every confirmed reason (the newest 50,000), measure it on a
    held-out part, store it as a new version and activate it if it had enough examples,
    learned at least one tag and does no worse than the keyword rules on the held-out part.

    Reading and fitting happen outside the transaction (they take seconds on a real city's
    data); only the write is atomic.
    """
    if not 0 < test_fraction < 1:
        raise ApplicationError(
            "invalid_test_fraction", _("测试集比例须在 0 到 1 之间。"), field="test_fraction"
        )
    examples = confirmed_reasons()
    if len(examples) < MIN_SPLIT_EXAMPLES:
        raise ApplicationError(
            "tagger_not_enough_data",
            _("已确认标签的回访原因不足 %(n)d 条，暂不能训练，继续使用关键词规则。")
            % {"n": MIN_SPLIT_EXAMPLES},
        )
    texts = [text for text, _tags in examples]
    labels = [tags for _text, tags in examples]
    result = tagging.train(
        texts, labels, test_fraction=test_fraction, seed=seed, min_examples=min_tag_examples
    )
    if len(examples) < min_activation_examples():
        note = _("确认样本不足 %(n)d 条，未启用。") % {"n": min_activation_examples()}
    elif not result.learned:
        note = _("没有标签达到最少样本数，未启用。")
    elif _worse_than_rules(result.metrics):
        note = _("测试集上不如关键词规则，未启用。")
    else:
        note = ""
    model = _tagger_save(actor=actor, result=result, activate=not note, note=str(note))
    tagging.clear_cache()
    return model


def _worse_than_rules(metrics: dict) -> bool:
    """A model that tags held-out confirmed reasons worse (micro-F1) than the keyword rules
    alone would make suggestions worse: keep what suggests now."""
    model, rules = metrics["model"]["micro"]["f1"], metrics["rules"]["micro"]["f1"]
    return model is not None and rules is not None and model < rules


@transaction.atomic
def _tagger_save(*, actor, result: tagging.TrainingResult, activate: bool, note: str):
    # Lock the active row so two runs finishing together activate one after the other.
    list(TaggerModel.objects.select_for_update().filter(is_active=True).values_list("pk"))
    version = (TaggerModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    if activate:
        TaggerModel.objects.filter(is_active=True).update(is_active=False)
    model = TaggerModel.objects.create(
        version=version,
        trained_at=timezone.now(),
        trained_by=actor if actor is not None and actor.pk else None,
        n_train=result.n_train,
        n_test=result.n_test,
        metrics=result.metrics,
        params=result.params,
        weights=result.weights,
        is_active=activate,
        note=note,
    )
    if actor is not None:
        micro = result.metrics["model"]["micro"]
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=model,
            detail={
                "version": version,
                "activated": activate,
                "n_train": result.n_train,
                "n_test": result.n_test,
                "learned": result.learned,
                "micro_f1": micro["f1"],
            },
        )
    return model

"""Reads for insight. The reason tagger is city-wide configuration with no unit data: its
figures are counts and rates only, never a citizen's words."""

from django.db.models import QuerySet

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.insight.models import TaggerModel
from minyi.perception.models import ReasonTag

# The newest confirmed examples a training run reads (370k callbacks in ~2.5 years at
# Shaoxing's scale: recent ones describe today's complaints best and keep a run to minutes).
MAX_TRAINING_EXAMPLES = 50_000


def _confirmed() -> QuerySet:
    return Callback.objects.filter(status=CallbackStatus.DONE).exclude(tags=[])


def confirmed_reasons(*, limit: int = MAX_TRAINING_EXAMPLES) -> list[tuple[str, list[str]]]:
    """Training data: (reason text, confirmed tags) of done callbacks, oldest first.

    Unscoped on purpose, and for the training service only: the texts never reach a page.
    reason_text is encrypted, so emptiness is checked after it is decrypted.
    """
    valid = set(ReasonTag.values)
    confirmed = _confirmed()
    oldest_kept = confirmed.order_by("-pk").values_list("pk", flat=True)[limit - 1 : limit]
    if oldest_kept:
        confirmed = confirmed.filter(pk__gte=oldest_kept[0])
    rows = confirmed.order_by("pk").only("pk", "reason_text", "tags").iterator(chunk_size=2000)
    examples = []
    for callback in rows:
        text = (callback.reason_text or "").strip()
        tags = sorted({t for t in callback.tags or [] if t in valid})
        if text and tags:
            examples.append((text, tags))
    return examples


def confirmed_reason_count() -> int:
    """Done callbacks with confirmed tags (a cheap upper bound: texts are not decrypted)."""
    return _confirmed().count()


def tagger_active() -> TaggerModel | None:
    return TaggerModel.objects.filter(is_active=True).defer("weights").first()


def tagger_history(*, limit: int = 30) -> QuerySet:
    return TaggerModel.objects.defer("weights").select_related("trained_by")[:limit]


def tagger_metric_rows(model: TaggerModel) -> list[dict]:
    """One row per reason tag: where its suggestion comes from, the held-out figures of what
    suggests (model + rules) and of the keyword rules alone, and the confirmed counts."""
    metrics = model.metrics or {}
    suggested = metrics.get("model", {}).get("tags", {})
    rules = metrics.get("rules", {}).get("tags", {})
    sources = metrics.get("sources", {})
    counts = (model.params or {}).get("tag_counts", {})
    train_counts = (model.params or {}).get("train_counts", {})
    return [
        {
            "tag": tag,
            "label": label,
            "source": sources.get(tag, "rules"),
            "model": suggested.get(tag, {}),
            "rules": rules.get(tag, {}),
            "confirmed": counts.get(tag, 0),
            "train": train_counts.get(tag, 0),
        }
        for tag, label in ReasonTag.choices
    ]


def tagger_overview() -> dict:
    active = tagger_active()
    history = list(tagger_history())
    latest = history[0] if history else None
    shown = active or latest
    return {
        "active": active,
        "shown": shown,
        "rows": tagger_metric_rows(shown) if shown else [],
        "micro": (shown.metrics or {}).get("model", {}).get("micro") if shown else None,
        "micro_rules": (shown.metrics or {}).get("rules", {}).get("micro") if shown else None,
        "macro": (shown.metrics or {}).get("model", {}).get("macro") if shown else None,
        "macro_rules": (shown.metrics or {}).get("rules", {}).get("macro") if shown else None,
        "history": history,
        "confirmed_now": confirmed_reason_count(),
    }

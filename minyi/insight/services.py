"""Writes for insight (capability 7): tagging every citizen text as it arrives, the tags
evaluators and handlers confirm, and training the reason tagger on them."""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction
from minyi.insight import emerging, tagging
from minyi.insight.models import (
    TaggedText,
    TaggerModel,
    TextCursor,
    TextSource,
    TopicKind,
    TopicWeek,
)
from minyi.insight.selectors import confirmed_examples
from minyi.insight.sources import SOURCES, Source, day_of, row_values, source_of, texts_by_key
from minyi.opinions.models import Opinion
from minyi.orgs.selectors import scope_q
from minyi.perception.models import ReasonTag

# A row is read again this long after the newest one read, in case an earlier one committed
# late (a reply answered from a backlog carries its arrival time).
CURSOR_OVERLAP = timedelta(hours=1)
TAG_BATCH = 500
# A newly activated model suggests again for the texts emerging topics read.
RETAG_DAYS = 7 * (emerging.WINDOW_WEEKS + emerging.BASELINE_WEEKS)

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
    examples = confirmed_examples()
    if len(examples) < MIN_SPLIT_EXAMPLES:
        raise ApplicationError(
            "tagger_not_enough_data",
            _("已确认标签的群众文本不足 %(n)d 条，暂不能训练，继续使用关键词规则。")
            % {"n": MIN_SPLIT_EXAMPLES},
        )
    result = tagging.train(
        [text for text, _tags, _source in examples],
        [tags for _text, tags, _source in examples],
        sources=[source for _text, _tags, source in examples],
        test_fraction=test_fraction,
        seed=seed,
        min_examples=min_tag_examples,
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
    if model.is_active:
        texts_retag(since=timezone.localdate() - timedelta(days=RETAG_DAYS))
    return model


def _worse_than_rules(metrics: dict) -> bool:
    """A model that does not tag held-out confirmed texts better (micro-F1) than the keyword
    rules alone would not make suggestions better: keep what suggests now."""
    model, rules = metrics["model"]["micro"]["f1"], metrics["rules"]["micro"]["f1"]
    return model is None or (rules is not None and model <= rules)


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


# --- Tagging every text as it arrives ------------------------------------------------------


def texts_tag_pending(*, batch: int = TAG_BATCH, full: bool = False, now=None) -> dict:
    """Tag every citizen text not tagged yet, source by source, and keep TopicWeek current.

    Each source is read from where the last pass stopped (less CURSOR_OVERLAP); `full` reads
    again the RETAG_DAYS that emerging topics read (daily, for rows that arrived with an older
    time, e.g. a history load) and clears expired terms. A callback's confirmed tags are
    copied as it is tagged; a transferred opinion's text follows it. Texts with no words
    (empty, emoji, a number alone) are not stored. Returns the texts tagged per source.
    """
    model = tagging.active_model()
    version = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True)
    version = version.first()
    now = now or timezone.now()
    counts: Counter = Counter()
    if full:
        terms_expire(now=now)
    for source in SOURCES:
        TextCursor.objects.get_or_create(source=source.name)
        after = _resume_at(source)
        if full and source.cursor != "pk":  # the weeks emerging topics read, again
            after = (now - timedelta(days=RETAG_DAYS), 0)
        while True:
            done, after = _tag_batch(source, after, batch=batch, model=model, version=version)
            counts.update(done)
            if after is None:
                break
    texts_follow_transfers(since=timezone.localdate(now) - timedelta(days=RETAG_DAYS))
    return {s: counts[s] for s in sorted(counts)}


def texts_follow_transfers(*, since) -> int:
    """An opinion transferred to another unit (转办) takes its tagged text along: the new
    unit sees it, counts it and confirms it; the old one no longer does. Returns how many
    moved."""
    current = Opinion.objects.filter(pk=OuterRef("object_id")).values("unit_id")[:1]
    with transaction.atomic():
        moved = list(
            TaggedText.objects.select_for_update()
            .filter(source__in=OPINION_SOURCES, day__gte=since)
            .annotate(now_unit=Subquery(current))
            .exclude(now_unit__isnull=True)
            .exclude(unit_id=F("now_unit"))
        )
        deltas: Counter = Counter()
        for row in moved:
            _count(deltas, row, row.suggested, -1, terms=True)
            row.unit_id = row.now_unit
            _count(deltas, row, row.suggested, +1, terms=True)
        TaggedText.objects.bulk_update(moved, ["unit"])
        _rollup_add(deltas)
    return len(moved)


def terms_expire(*, now: datetime | None = None) -> int:
    """Topic terms are words of a citizen's text: they go when the text's own retention
    period (settings.RETENTION_DAYS["text"]) has passed, as the text itself is redacted.
    The tags and TopicWeek's counts stay. Each day from where the last run stopped."""
    now = now or timezone.now()
    cutoff = timezone.localdate(now) - timedelta(days=settings.RETENTION_DAYS["text"])
    mark, _created = TextCursor.objects.get_or_create(source="terms")
    rows = TaggedText.objects.filter(day__lt=cutoff)
    if mark.last_at is not None:
        rows = rows.filter(day__gte=timezone.localdate(mark.last_at))
    done = rows.update(terms=[])
    mark.last_at = timezone.make_aware(datetime.combine(cutoff, datetime.min.time()))
    mark.save(update_fields=["last_at"])
    return done


def _resume_at(source: Source):
    cursor = TextCursor.objects.get(source=source.name)
    if source.cursor == "pk":
        return (cursor.last_pk, 0) if cursor.last_pk else None
    return (cursor.last_at - CURSOR_OVERLAP, 0) if cursor.last_at else None


OPINION_SOURCES = (TextSource.OPINION, TextSource.CASE, TextSource.MEETING)


def _untagged(source: Source):
    names = OPINION_SOURCES if source.name == TextSource.OPINION else [source.name]
    tagged = TaggedText.objects.filter(source__in=names, object_id=OuterRef("pk"))
    return source.rows().filter(~Exists(tagged))


@transaction.atomic
def _tag_batch(source: Source, after, *, batch: int, model, version):
    """One batch, in one transaction holding the source's cursor row: two passes at once
    take turns and never tag a row twice. Returns (texts tagged per source, the key to go on
    after, or None when the source is read to its end)."""
    cursor = TextCursor.objects.select_for_update().get(source=source.name)
    qs = _untagged(source)
    if after is not None:
        value, pk = after
        qs = qs.filter(
            Q(**{f"{source.cursor}__gt": value}) | Q(**{source.cursor: value, "pk__gt": pk})
        )
    rows = list(row_values(source, qs.order_by(source.cursor, "pk"))[:batch])
    if not rows:
        return Counter(), None
    created, deltas = [], Counter()
    for row in rows:
        text = row[source.text_field] or ""
        result = tagging.tag_text(text, source=source_of(source, row), model=model)
        if not result.tags:
            continue
        tagged = TaggedText(
            source=source_of(source, row),
            object_id=row["pk"],
            unit_id=row["unit_id"],
            day=day_of(source, row),
            length=len(text),
            suggested=result.tags,
            tagger_version=version if model is not None else None,
            rules_version=tagging.RULES_VERSION,
            terms=result.terms,
        )
        if source.name == "callback":
            confirmed = _ranked(row.get("tags") or [], result)
            if confirmed:
                tagged.confirmed = confirmed
                tagged.confirmed_at = row[source.cursor]
                tagged.confirmed_by_id = row["completed_by_id"]
        created.append(tagged)
        _count(deltas, tagged, tagged.suggested, +1, terms=True)
    TaggedText.objects.bulk_create(created, batch_size=500)
    _rollup_add(deltas)
    last = rows[-1][source.cursor]
    if source.cursor == "pk":
        cursor.last_pk = max(cursor.last_pk, last)
    elif cursor.last_at is None or last > cursor.last_at:
        cursor.last_at = last
    cursor.save()
    done = Counter(t.source for t in created)
    following = (last, rows[-1]["pk"]) if len(rows) == batch else None
    return done, following


def _ranked(tags: list[str], result: tagging.TagResult) -> list[str]:
    """Confirmed tags of a callback (a set), ranked by the tagger's scores, at most two."""
    valid = [t for t in ReasonTag.values if t in set(tags)]
    order = {t: i for i, t in enumerate(ReasonTag.values)}
    valid.sort(key=lambda t: (-result.scores.get(t, 0.0), order[t]))
    return valid[: tagging.MAX_TAGS]


def _count(deltas: Counter, tagged: TaggedText, tags, sign: int, *, terms: bool) -> None:
    week = tagged.day - timedelta(days=tagged.day.weekday())
    for tag in tags:
        deltas[(tagged.unit_id, week, TopicKind.TAG.value, tag)] += sign
    if terms:
        for term in tagged.terms:
            deltas[(tagged.unit_id, week, TopicKind.TERM.value, term[:40])] += sign


def _rollup_add(deltas: Counter) -> None:
    """One INSERT … ON CONFLICT adding to TopicWeek, keys in sorted order (concurrent passes
    lock rows in the same order)."""
    rows = [(*key, n) for key, n in sorted(deltas.items()) if n]
    if not rows:
        return
    table = TopicWeek._meta.db_table
    sql = (
        f"INSERT INTO {table} (unit_id, week, kind, key, n) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (unit_id, week, kind, key) DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def texts_retag(*, since, batch: int = TAG_BATCH) -> int:
    """The texts dated from `since`, suggested again by the active model (after a new one is
    activated); TopicWeek's tag counts follow. Returns how many texts' suggestions changed."""
    version = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True)
    version = version.first()
    model = tagging.active_model()
    changed, last = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                TaggedText.objects.select_for_update()
                .filter(day__gte=since, pk__gt=last)
                .exclude(tagger_version=version)
                .order_by("pk")[:batch]
            )
            if not rows:
                return changed
            texts = texts_by_key([(t.source, t.object_id) for t in rows])
            deltas: Counter = Counter()
            for row in rows:
                text = texts[(row.source, row.object_id)]
                tags = tagging.tag_text(text, source=row.source, model=model).tags
                if tags and tags != row.suggested:
                    _count(deltas, row, row.suggested, -1, terms=False)
                    _count(deltas, row, tags, +1, terms=False)
                    row.suggested = tags
                    changed += 1
                row.tagger_version = version
            TaggedText.objects.bulk_update(rows, ["suggested", "tagger_version"])
            _rollup_add(deltas)
            last = rows[-1].pk


# --- Confirming ---------------------------------------------------------------------------


def tags_clean(tags: list[str]) -> list[str]:
    """A confirmation's tags, ranked: one or two distinct reason tags, primary first."""
    tags = [t for t in (tags or []) if t]
    if not tags:
        raise ApplicationError("tags_required", _("请至少选择一个原因标签。"), field="tags")
    unknown = [t for t in tags if t not in ReasonTag.values]
    if unknown:
        raise ApplicationError(
            "tags_unknown", _("没有这个原因标签：%s。") % "、".join(unknown), field="tags"
        )
    if len(set(tags)) != len(tags):
        raise ApplicationError("tags_repeated", _("主要原因和次要原因不能相同。"), field="tags")
    if len(tags) > tagging.MAX_TAGS:
        raise ApplicationError(
            "tags_too_many", _("最多选择两个原因：主要原因和次要原因。"), field="tags"
        )
    if ReasonTag.OTHER in tags and len(tags) > 1:
        raise ApplicationError(
            "tags_other_alone", _("“其他”不能与别的原因同时选择。"), field="tags"
        )
    return tags


def text_confirm(*, actor, tagged: TaggedText, tags: list[str], now: datetime | None = None):
    """A handler or evaluator confirms a text's reasons, ranked (主要原因, 次要原因). The
    confirmed tags count from now on in the figures and feed the next training run."""
    tags = tags_clean(tags)
    now = now or timezone.now()
    with transaction.atomic():
        row = TaggedText.objects.select_for_update().filter(scope_q(actor), pk=tagged.pk).first()
        if row is None:
            raise NotFound()
        row.confirmed, row.confirmed_by, row.confirmed_at = tags, actor, now
        row.save(update_fields=["confirmed", "confirmed_by", "confirmed_at"])
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=row,
            detail={"source": row.source, "suggested": row.suggested, "confirmed": tags},
        )
    return row

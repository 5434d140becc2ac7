"""Reads for insight (capability 7). The tagger's quality figures are counts and rates only;
what citizens wrote reaches a page only as masked quotes, and only from the viewer's subtree.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Substr

from minyi.core.batches import NOT_TEXT
from minyi.core.errors import NotFound
from minyi.core.masking import mask_text
from minyi.core.stats import wilson_interval
from minyi.insight import emerging, tagging
from minyi.insight.models import TaggedText, TaggerModel, TextSource, TopicKind, TopicWeek
from minyi.insight.sources import texts_by_key
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.perception.models import ReasonTag

# The newest confirmed examples a training run reads (370k callbacks in ~2.5 years at
# Shaoxing's scale: recent ones describe today's complaints best and keep a run to minutes).
MAX_TRAINING_EXAMPLES = 50_000
# Fewer held-out examples of a tag than this and its precision and recall are not shown as
# figures: "too few to judge".
MIN_JUDGE = 20
QUOTE_CHARS = 90
# A number read out in Chinese numerals ("幺三八一二三四五六七八"): as long as a phone number's
# shortest part, masked like one.
_SPOKEN_NUMBER = re.compile("[零〇一二三四五六七八九幺两]{7,}")
TAG_LABELS = dict(ReasonTag.choices)


def confirmed_examples(*, limit: int = MAX_TRAINING_EXAMPLES) -> list[tuple[str, list, str]]:
    """Training data: (text, confirmed tags ranked, source) of every confirmed text, the
    newest `limit`, oldest first.

    Unscoped on purpose, and for the training service only: the texts never reach a page.
    """
    rows = list(
        TaggedText.objects.filter(confirmed_at__isnull=False)
        .order_by("-confirmed_at", "-pk")
        .values_list("source", "object_id", "confirmed")[:limit]
    )
    rows.reverse()
    texts = texts_by_key([(source, object_id) for source, object_id, _tags in rows])
    valid = set(ReasonTag.values)
    examples = []
    for source, object_id, tags in rows:
        text = texts[(source, object_id)].strip()
        tags = [t for t in tags or [] if t in valid]
        if text and tags:
            examples.append((text, tags, source))
    return examples


def confirmed_count() -> int:
    return TaggedText.objects.filter(confirmed_at__isnull=False).count()


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
            "model": _judged(suggested.get(tag, {})),
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
        "confirmed_now": confirmed_count(),
        "sources": source_quality(shown) if shown else [],
        "primary": (shown.metrics or {}).get("primary") if shown else None,
        "min_judge": MIN_JUDGE,
    }


def _judged(scores: dict) -> dict:
    """A tag's held-out figures with Wilson 95% intervals, or `too_few` when its examples
    (held-out confirmed texts carrying it) are fewer than MIN_JUDGE."""
    support, predicted = scores.get("support") or 0, scores.get("predicted") or 0
    tp = round((scores.get("recall") or 0) * support)
    return {
        **scores,
        "too_few": support < MIN_JUDGE,
        "recall_ci": wilson_interval(tp, support) if support else None,
        "precision_ci": wilson_interval(tp, predicted) if predicted else None,
    }


def source_quality(model: TaggerModel) -> list[dict]:
    """Per source of text: held-out examples, micro figures of the tagger and of the rules
    alone, and per tag precision and recall on that source's confirmed texts only."""
    by_source = (model.metrics or {}).get("by_source", {})
    counts = (model.params or {}).get("source_counts", {})
    labels = dict(TextSource.choices)
    out = []
    for source, label in TextSource.choices:
        part = by_source.get(source)
        if part is None:
            out.append(
                {"source": source, "label": label, "n": 0, "confirmed": counts.get(source, 0)}
            )
            continue
        tags = part["model"]["tags"]
        rules = part["rules"]["tags"]
        out.append(
            {
                "source": source,
                "label": labels[source],
                "n": part["n"],
                "confirmed": counts.get(source, 0),
                "micro": _judged(part["model"]["micro"] | {"predicted": None}),
                "micro_rules": part["rules"]["micro"],
                "too_few": part["n"] < MIN_JUDGE,
                "rows": [
                    {"tag": t, "label": TAG_LABELS[t], "model": _judged(tags[t]), "rules": rules[t]}
                    for t in ReasonTag.values
                    if tags.get(t, {}).get("support") or tags.get(t, {}).get("predicted")
                ],
            }
        )
    return out


# --- Reasons in every text ------------------------------------------------------------------


def _visible(user, unit: OrgUnit) -> OrgUnit:
    if not OrgUnit.objects.filter(scope_q(user, ""), pk=unit.pk).exists():
        raise NotFound()
    return unit


def _in_subtree(unit: OrgUnit) -> QuerySet:
    return TaggedText.objects.filter(unit.subtree_filter("unit__"))


def quote_of(text: str, tag: str = "", term: str = "") -> str:
    """The piece of a text that says it (the sentence a tag's rules or a term hit, else the
    start), masked and cut to QUOTE_CHARS characters."""
    text = (text or "").strip()
    chosen = ""
    for piece in tagging.pieces(text[: tagging.MAX_CHARS]):
        if (term and term in piece) or (tag and tag in tagging.rule_tags(piece)):
            chosen = piece
            break
    # Masked before it is cut: a cut number would no longer be recognised as one.
    chosen = _SPOKEN_NUMBER.sub(lambda m: "*" * len(m[0]), mask_text((chosen or text).strip()))
    chosen = NOT_TEXT.sub("", chosen)
    if len(chosen) > QUOTE_CHARS:
        chosen = chosen[: QUOTE_CHARS - 1] + "…"
    return chosen


def text_reasons_for(user, unit: OrgUnit, *, start: date, end: date, quotes: int = 2) -> dict:
    """Reasons in every citizen text of `unit`'s subtree dated in [start, end]: per tag the
    texts carrying it (as primary or secondary reason) and as primary, its share of the texts,
    texts per source, and up to `quotes` masked quotes for each of the five most frequent
    tags (confirmed texts first, newest first); "other" comes last. What counts is a text's
    confirmed tags once confirmed, else the tagger's suggestion."""
    _visible(user, unit)
    rows = list(
        _in_subtree(unit)
        .filter(day__gte=start, day__lte=end)
        .order_by(F("confirmed_at").desc(nulls_last=True), "-day", "-pk")
        .values("pk", "source", "object_id", "suggested", "confirmed", "confirmed_at")
    )
    n, primary, by_source = Counter(), Counter(), Counter()
    examples: dict[str, list] = defaultdict(list)
    confirmed = 0
    for r in rows:
        tags = r["confirmed"] if r["confirmed_at"] else r["suggested"]
        confirmed += bool(r["confirmed_at"])
        by_source[r["source"]] += 1
        for i, tag in enumerate(tags):
            n[tag] += 1
            primary[tag] += i == 0
            if len(examples[tag]) < quotes:
                examples[tag].append((r["source"], r["object_id"]))
    total = len(rows)
    # "Other" (praise, a question, no reason found) last: the leader reads the reasons first.
    ranked = sorted(n, key=lambda t: (t == ReasonTag.OTHER, -n[t], ReasonTag.values.index(t)))
    top = [t for t in ranked if t != ReasonTag.OTHER][:5]
    texts = texts_by_key([k for t in top for k in examples[t]])
    labels = dict(TextSource.choices)
    return {
        "start": start,
        "end": end,
        "total": total,
        "confirmed": confirmed,
        "rows": [
            {
                "tag": t,
                "label": TAG_LABELS[t],
                "n": n[t],
                "primary": primary[t],
                "share": n[t] / total if total else None,
            }
            for t in ranked
        ],
        "by_source": [
            {"source": s, "label": labels[s], "n": by_source[s]}
            for s in TextSource.values
            if by_source[s]
        ],
        "quotes": {t: [quote_of(texts[k], tag=t) for k in examples[t]] for t in top},
    }


# --- Emerging topics (热点) ------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """The weeks a rise is judged on: the last WINDOW_WEEKS whole weeks on or before `as_of`
    and the BASELINE_WEEKS before them (Mondays)."""

    baseline_start: date
    window_start: date
    end: date  # the last day of the window (a Sunday)

    @classmethod
    def at(cls, as_of: date) -> "Windows":
        next_monday = as_of - timedelta(days=as_of.weekday()) + timedelta(days=7)
        if as_of.weekday() != 6:  # the week of as_of is not over: judged from the one before
            next_monday -= timedelta(days=7)
        window_start = next_monday - timedelta(weeks=emerging.WINDOW_WEEKS)
        baseline_start = window_start - timedelta(weeks=emerging.BASELINE_WEEKS)
        return cls(baseline_start, window_start, next_monday - timedelta(days=1))

    @property
    def weeks(self) -> list[date]:
        n = emerging.BASELINE_WEEKS + emerging.WINDOW_WEEKS
        return [self.baseline_start + timedelta(weeks=i) for i in range(n)]


def _levels(user, unit: OrgUnit, children: bool) -> list[OrgUnit]:
    levels = [unit]
    if children:
        levels += list(OrgUnit.objects.get_children(unit).filter(scope_q(user, "")))
    return levels


def _weekly_series(unit: OrgUnit, levels: list[OrgUnit], weeks: list[date]) -> dict:
    """(level unit id, kind, key) → texts per week over `weeks`, summed in the database per
    branch (the first len(child path) characters of a unit's path), then up to `unit`."""
    position = {w: i for i, w in enumerate(weeks)}
    by_path = {u.path: u.pk for u in levels}
    width = len(levels[1].path) if len(levels) > 1 else len(unit.path)
    rows = (
        TopicWeek.objects.filter(unit.subtree_filter("unit__"))
        .filter(week__gte=weeks[0], week__lte=weeks[-1])
        .annotate(branch=Substr("unit__path", 1, width))
        .values_list("branch", "week", "kind", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    series: dict[tuple[int, str, str], np.ndarray] = {}
    for branch, week, kind, key, n in rows.iterator(chunk_size=5000):
        for pk in {unit.pk, by_path.get(branch, unit.pk)}:
            arr = series.get((pk, kind, key))
            if arr is None:
                arr = series[(pk, kind, key)] = np.zeros(len(weeks), dtype=np.int64)
            arr[position[week]] += n
    return series


def emerging_topics_for(
    user, unit: OrgUnit, *, as_of: date, children: bool = True, quotes: int = 2, limit: int = 30
) -> dict:
    """Reason tags and topic terms whose texts rose above their own baseline in the last two
    whole weeks, for `unit` (its whole subtree) and each of its child units: the rule of
    minyi.insight.emerging (version printed beside each flag), with the words that say it and
    masked quotes of the texts behind it. Reads TopicWeek."""
    _visible(user, unit)
    windows = Windows.at(as_of)
    weeks = windows.weeks
    levels = _levels(user, unit, children)
    series = _weekly_series(unit, levels, weeks)
    flagged = []
    for kind, alpha in ((TopicKind.TAG, emerging.ALPHA_TAG), (TopicKind.TERM, emerging.ALPHA_TERM)):
        keys = [
            k
            for k, arr in series.items()
            if k[1] == kind
            and k[2] != ReasonTag.OTHER
            and arr[emerging.BASELINE_WEEKS :].sum() >= emerging.MIN_COUNT
        ]
        if not keys:
            continue
        counts = np.stack([series[k] for k in keys])
        results = emerging.rise_tests(
            counts[:, emerging.BASELINE_WEEKS :].sum(axis=1),
            counts[:, : emerging.BASELINE_WEEKS],
            alpha=alpha,
        )
        flagged += [(k, r) for k, r in zip(keys, results, strict=True) if r.flagged]
    flagged.sort(key=lambda kr: (kr[1].p_value, -kr[1].current))
    by_pk = {u.pk: u for u in levels}
    behind = _topic_keys([(by_pk[k[0]], k[1], k[2]) for k, _r in flagged], windows=windows)
    groups = _grouped(flagged, behind)[:limit]
    texts = texts_by_key(sorted({k for (topic, _r, _m) in groups for k in behind[topic][:quotes]}))
    return {
        "rule_version": emerging.RULE_VERSION,
        "window": (windows.window_start, windows.end),
        "baseline": (windows.baseline_start, windows.window_start - timedelta(days=1)),
        "rows": [
            {
                "unit_id": level_pk,
                "unit_name": by_pk[level_pk].display_name,
                "kind": kind,
                "key": key,
                "label": TAG_LABELS.get(key, key) if kind == TopicKind.TAG else key,
                "also": members,
                "current": r.current,
                "expected": r.expected,
                "ratio": r.ratio,
                "p_value": r.p_value,
                "method": r.method,
                "words": emerging.plain_words(r),
                "quotes": [
                    quote_of(
                        texts[k],
                        tag=key if kind == TopicKind.TAG else "",
                        term=key if kind == TopicKind.TERM else "",
                    )
                    for k in behind[(level_pk, kind, key)][:quotes]
                ],
            }
            for (level_pk, kind, key), r, members in groups
        ],
    }


# Flagged terms of one unit whose texts are mostly the same texts are one topic: "电动车",
# "电瓶", "车棚" of the same complaints, or the words of ten letters written alike (a collective
# petition reads so). Shown as one row, led by the most significant term.
SAME_TOPIC = 0.6


def _grouped(flagged: list, behind: dict) -> list[tuple]:
    """(topic, rise, other terms of the same texts) in order of significance."""
    groups: list[tuple] = []
    for topic, rise in flagged:
        keys = set(behind[topic])
        if topic[1] == TopicKind.TERM and keys:
            for lead, _r, members in groups:
                if lead[0] != topic[0] or lead[1] != TopicKind.TERM:
                    continue
                lead_keys = set(behind[lead])
                if len(keys & lead_keys) >= SAME_TOPIC * len(keys | lead_keys):
                    members.append(topic[2])
                    break
            else:
                groups.append((topic, rise, []))
        else:
            groups.append((topic, rise, []))
    return groups


def _topic_keys(topics, *, windows: Windows, limit: int = 200) -> dict[tuple, list]:
    """The (source, object_id) of the texts behind each (unit, kind, key) in the window, up to
    `limit` each, newest first."""
    found: dict[tuple, list] = {(u.pk, kind, key): [] for u, kind, key in topics}
    if not topics:
        return found
    units = {u.pk: u for u, _k, _key in topics}
    top = min(units.values(), key=lambda u: len(u.path))
    rows = (
        TaggedText.objects.filter(top.subtree_filter("unit__"))
        .filter(day__gte=windows.window_start, day__lte=windows.end)
        .order_by("-day", "-pk")
        .values_list("unit__path", "source", "object_id", "suggested", "terms")
    )
    # The tagger's suggestions, as TopicWeek counts them: the texts behind a figure are the
    # texts it counted.
    for path, source, object_id, tags, terms in rows.iterator(chunk_size=2000):
        for (pk, kind, key), keys in found.items():
            if len(keys) >= limit or not path.startswith(units[pk].path):
                continue
            if (kind == TopicKind.TAG and key in tags) or (kind == TopicKind.TERM and key in terms):
                keys.append((source, object_id))
    return found


def topic_texts(topics, *, windows: Windows, limit: int = 50) -> dict[tuple, list[str]]:
    """The texts behind each (unit, kind, key) in the window: up to `limit` each, newest
    first, decrypted (the caller masks what it shows)."""
    found = _topic_keys(topics, windows=windows, limit=limit)
    texts = texts_by_key(sorted({k for keys in found.values() for k in keys}))
    return {topic: [texts[k] for k in keys] for topic, keys in found.items()}


# --- Confirming ---------------------------------------------------------------------------


def review_queue(
    user, *, source: str = "", unit: OrgUnit | None = None, limit: int = 30
) -> list[dict]:
    """Texts in the user's subtree not confirmed yet, newest first, with a masked excerpt and
    the tagger's suggestion, for a handler to confirm (标签核对)."""
    qs = TaggedText.objects.filter(scope_q(user), confirmed_at__isnull=True)
    if unit is not None:
        qs = qs.filter(unit.subtree_filter("unit__"))
    if source:
        qs = qs.filter(source=source)
    items = list(qs.select_related("unit").order_by("-day", "-pk")[:limit])
    texts = texts_by_key([(t.source, t.object_id) for t in items])
    return [
        {
            "item": t,
            "labels": [TAG_LABELS[tag] for tag in t.suggested],
            "excerpt": quote_of(
                texts[(t.source, t.object_id)], tag=t.suggested[0] if t.suggested else ""
            ),
        }
        for t in items
    ]


def tagged_text_for(user, sources: list[str], object_id: int) -> TaggedText | None:
    """The tagged text of a source row, if tagged and in the user's subtree."""
    return TaggedText.objects.filter(scope_q(user), source__in=sources, object_id=object_id).first()


def tagged_text_get_visible(user, pk) -> tuple[TaggedText, str]:
    """A tagged text in the user's subtree and its words, masked."""
    tagged = TaggedText.objects.filter(scope_q(user), pk=pk).select_related("unit").first()
    if tagged is None:
        raise NotFound()
    text = texts_by_key([(tagged.source, tagged.object_id)])[(tagged.source, tagged.object_id)]
    return tagged, mask_text(text)

"""Insight pages: where dissatisfaction comes from in every citizen text (诉求原因分析),
emerging topics (民意热点) and the texts behind them, confirming a text's reasons (原因标签核对),
the reason tagger's quality figures for administrators, and the tag suggestions the callback
workbench asks for while an evaluator types."""

from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError
from minyi.core.periods import ROLLING, month_choices, period_parse
from minyi.insight import emerging
from minyi.insight.models import TextSource, TopicKind
from minyi.insight.selectors import (
    TAG_LABELS,
    Windows,
    emerging_topics_for,
    quote_of,
    review_queue,
    tagged_text_for,
    tagged_text_get_visible,
    tagger_overview,
    text_reasons_for,
    topic_texts,
)
from minyi.insight.services import text_confirm
from minyi.insight.tagging import suggest_tags
from minyi.insight.tasks import tagger_train_task
from minyi.orgs.access import staff_view
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm
from minyi.orgs.selectors import orgunit_get_visible, orgunit_root_for
from minyi.perception.models import ReasonTag

MAX_TEXT = 2000


@staff_view(Perm.TAGGER_VIEW)
def tagger(request):
    return render(request, "insight/tagger.html", tagger_overview())


@staff_view(Perm.TAGGER_VIEW)
def tagger_train(request):
    """GET asks for confirmation; POST hands the training to the task worker (seconds on a
    demo, minutes on a city's year of callbacks: too long for a request)."""
    if request.method == "POST":
        tagger_train_task.enqueue(actor_id=request.user.pk)
        messages.success(request, _("已提交重新训练，通常一两分钟内完成；刷新本页即可看到新版本。"))
        return redirect("insight:tagger")
    return render(request, "insight/tagger_train.html")


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def suggest(request):
    """The reason-tag checkboxes for a reason text (an htmx fragment): every tag, the
    suggested ones checked and marked. With `current=1`, tags the evaluator checked by hand
    (`tags` minus the previous `suggested_tags`) stay checked. POST only: the citizen's words
    must not end up in a URL (and so in access logs)."""
    data = request.POST
    text = (data.get("text") or data.get("reason_text") or "")[:MAX_TEXT]
    suggested = suggest_tags(text)
    checked = set(suggested)
    if data.get("current"):
        previous = set(data.getlist("suggested_tags"))
        checked |= set(data.getlist("tags")) - previous
    choices = [
        {
            "value": value,
            "label": label,
            "checked": value in checked,
            "suggested": value in suggested,
        }
        for value, label in ReasonTag.choices
    ]
    return render(
        request, "insight/_tag_choices.html", {"choices": choices, "suggested": suggested}
    )


# --- Reasons, topics, confirming ---------------------------------------------------------


def _unit(request) -> OrgUnit:
    """The unit asked for (?unit=), visible to the user, else the top of what they see."""
    root = orgunit_root_for(request.user)
    pk = request.GET.get("unit", "")
    if pk.isascii() and pk.isdigit():
        return orgunit_get_visible(request.user, int(pk))
    if root is None:
        raise ApplicationError("no_unit", _("您的账号未关联单位。"), status=403)
    return root


def _as_of(value: str, today: date) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return today
    # Not before 2000 (nothing is older), so the weeks before it stay representable.
    return min(max(day, date(2000, 1, 1)), today)


@staff_view(Perm.DASHBOARD_VIEW)
def reasons(request):
    """诉求原因分析: the reasons in every citizen text of a unit's subtree in a period."""
    unit = _unit(request)
    period = period_parse(request.GET.get("period"))
    figure = text_reasons_for(request.user, unit, start=period.start, end=period.end)
    rows = [{**r, "quotes": figure["quotes"].get(r["tag"], [])} for r in figure["rows"]]
    return render(
        request,
        "insight/reasons.html",
        {
            "unit": unit,
            "children": OrgUnit.objects.get_children(unit),
            "period": period,
            "periods": [str(d) for d in ROLLING],
            "months": month_choices(),
            "figure": figure,
            "rows": rows,
            "chart": {
                "labels": [r["label"] for r in figure["rows"]],
                "primary": [r["primary"] for r in figure["rows"]],
                "secondary": [r["n"] - r["primary"] for r in figure["rows"]],
                "names": [_("主要原因"), _("次要原因")],
            },
        },
    )


@staff_view(Perm.DASHBOARD_VIEW)
def topics(request):
    """民意热点: tags and terms that rose above their own baseline, for the unit and each
    child unit, with the rule and what it means."""
    today = timezone.localdate()
    unit = _unit(request)
    as_of = _as_of(request.GET.get("as_of", ""), today)
    figure = emerging_topics_for(request.user, unit, as_of=as_of)
    return render(
        request,
        "insight/topics.html",
        {
            "unit": unit,
            "as_of": as_of,
            "figure": figure,
            "rule": {
                "version": emerging.RULE_VERSION,
                "window": emerging.WINDOW_WEEKS,
                "baseline": emerging.BASELINE_WEEKS,
                "alpha_tag": emerging.ALPHA_TAG,
                "alpha_term": emerging.ALPHA_TERM,
                "min_count": emerging.MIN_COUNT,
                "min_ratio": emerging.MIN_RATIO,
            },
        },
    )


@staff_view(Perm.DASHBOARD_VIEW)
def topic_detail(request):
    """The texts behind one flagged topic (masked), newest first."""
    today = timezone.localdate()
    unit = _unit(request)
    kind = request.GET.get("kind", "")
    key = (request.GET.get("key") or "")[:40]
    if kind not in TopicKind.values or not key:
        raise ApplicationError("topic_unknown", _("请从热点列表进入。"), status=400)
    as_of = _as_of(request.GET.get("as_of", ""), today)
    windows = Windows.at(as_of)
    texts = topic_texts([(unit, kind, key)], windows=windows)[(unit.pk, kind, key)]
    is_tag = kind == TopicKind.TAG
    return render(
        request,
        "insight/topic_detail.html",
        {
            "unit": unit,
            "as_of": as_of,
            "windows": windows,
            "label": TAG_LABELS.get(key, key) if is_tag else key,
            "quotes": [
                quote_of(t, tag=key if is_tag else "", term="" if is_tag else key) for t in texts
            ],
        },
    )


@staff_view(Perm.TEXT_CONFIRM)
def review(request):
    """原因标签核对: texts not confirmed yet in the user's subtree, by source."""
    source = request.GET.get("source", "")
    if source not in TextSource.values:
        source = ""
    return render(
        request,
        "insight/review.html",
        {
            "items": review_queue(request.user, source=source),
            "source": source,
            "sources": TextSource.choices,
        },
    )


@staff_view(Perm.TEXT_CONFIRM)
def review_object(request, source: str, object_id: int):
    """From a source's own page (an opinion's): its tagged text, once the worker has tagged
    it (within a minute of arrival)."""
    names = [TextSource.OPINION, TextSource.CASE, TextSource.MEETING]
    names = names if source == TextSource.OPINION else [source]
    tagged = tagged_text_for(request.user, names, object_id)
    if tagged is None:
        messages.info(request, _("这条文本尚未完成自动标注（通常一分钟内完成），请稍后再试。"))
        return redirect("insight:review")
    return redirect(reverse("insight:review_text", args=[tagged.pk]))


@staff_view(Perm.TEXT_CONFIRM)
def review_text(request, pk: int):
    """Confirm one text's reasons: a primary reason and, if there is one, a secondary."""
    tagged, text = tagged_text_get_visible(request.user, pk)
    error = None
    if request.method == "POST":
        tags = [request.POST.get("primary", ""), request.POST.get("secondary", "")]
        tags = [t for t in tags if t]
        try:
            text_confirm(actor=request.user, tagged=tagged, tags=tags)
        except ApplicationError as exc:
            error = exc
        else:
            messages.success(request, _("已确认原因标签。"))
            nxt = request.POST.get("next", "")
            return redirect(nxt if nxt.startswith("/insight/") else reverse("insight:review"))
    current = tagged.tags
    return render(
        request,
        "insight/review_text.html",
        {
            "tagged": tagged,
            "text": text,
            "choices": ReasonTag.choices,
            "suggested": [TAG_LABELS[t] for t in tagged.suggested],
            "primary": (request.POST.get("primary") if error else None) or (current[:1] or [""])[0],
            "secondary": (request.POST.get("secondary") if error else None)
            or (current[1:2] or [""])[0],
            "error": error,
            "next": request.GET.get("next", ""),
        },
        status=400 if error else 200,
    )

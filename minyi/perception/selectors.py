"""Reads for the perception loop, scoped to the actor's subtree."""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from minyi.core.errors import NotFound
from minyi.integrations.sms.models import InboundSms, InboundStatus
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.perception.models import (
    Callback,
    CallbackKind,
    CallbackStatus,
    SatisfactionDaily,
    Survey,
    SurveyStatus,
)

# Aggregate aliases must differ from the rollup's field names.
SUMS = {
    "n_events": Sum("events"),
    "n_sent": Sum("surveys_sent"),
    "n_replies": Sum("replies"),
    **{f"r{i}": Sum(f"rating_{i}") for i in range(1, 6)},
}


def callback_list_visible_to(user, *, status: str = CallbackStatus.OPEN, kind: str = ""):
    """The callback queue of the perception centres in the user's subtree, due first."""
    qs = Callback.objects.filter(scope_q(user, "centre__")).select_related(
        "centre", "unit", "survey__business_type", "assignee"
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if status == CallbackStatus.DONE:
        return qs.order_by("-completed_at", "-id")
    return qs.order_by("due_at", "id")


def callback_counts_visible_to(user) -> dict:
    """Tasks per status, and how many unfinished ones are past due, for the queue's tabs."""
    now = timezone.now()
    return Callback.objects.filter(scope_q(user, "centre__")).aggregate(
        open=Count("id", filter=Q(status=CallbackStatus.OPEN)),
        in_progress=Count("id", filter=Q(status=CallbackStatus.IN_PROGRESS)),
        overdue=Count("id", filter=~Q(status=CallbackStatus.DONE) & Q(due_at__lt=now)),
    )


def callback_get_visible_to(user, pk) -> Callback:
    callback = (
        Callback.objects.filter(scope_q(user, "centre__"), pk=pk)
        .select_related(
            "centre",
            "unit",
            "assignee",
            "officer",
            "work_order",
            "survey__business_type",
            "survey__event",
        )
        .first()
    )
    if callback is None:
        raise NotFound()
    return callback


def citizen_history_visible_to(user, callback: Callback, *, limit: int = 10):
    """The same citizen's other contacts the user may see (same mobile, by its hash), newest
    first, with what came of them: the evaluator sees the whole story on one screen."""
    return (
        Survey.objects.filter(scope_q(user), mobile_hash=callback.survey.mobile_hash)
        .exclude(pk=callback.survey_id)
        .select_related("business_type", "unit")
        .prefetch_related("callbacks")
        .order_by("-created_at")[:limit]
    )


INBOX_TODO, INBOX_ALL = "todo", "all"
# Messages that needed a person: still to do, or handled (they stay visible in "all").
_INBOX_STATUSES = {
    INBOX_TODO: (InboundStatus.NEEDS_REVIEW,),
    INBOX_ALL: (InboundStatus.NEEDS_REVIEW, InboundStatus.REVIEWED),
}


def inbox_list_visible_to(user, *, show: str = INBOX_TODO):
    """Incoming messages a person must read (unparsed, no open survey, odd sender); with
    `show="all"`, the handled ones too."""
    return (
        InboundSms.objects.filter(
            scope_q(user), status__in=_INBOX_STATUSES.get(show, _INBOX_STATUSES[INBOX_TODO])
        )
        .select_related("unit", "handled_by")
        .order_by("-received_at", "-id")
    )


def inbox_counts_visible_to(user) -> dict:
    return InboundSms.objects.filter(
        scope_q(user), status__in=_INBOX_STATUSES[INBOX_ALL]
    ).aggregate(
        todo=Count("id", filter=Q(status=InboundStatus.NEEDS_REVIEW)),
        all=Count("id"),
    )


def inbox_get_visible_to(user, pk) -> InboundSms:
    inbound = inbox_list_visible_to(user, show=INBOX_ALL).filter(pk=pk).first()
    if inbound is None:
        raise NotFound()
    return inbound


def inbox_survey_for(inbound: InboundSms) -> Survey | None:
    """The survey a message from this mobile answers, as the parser picks it: the open one,
    else the one most recently sent."""
    if not inbound.from_mobile_hash:
        return None
    surveys = Survey.objects.select_related("event", "unit", "business_type").filter(
        mobile_hash=inbound.from_mobile_hash
    )
    return (
        surveys.filter(status=SurveyStatus.SENT).first()
        or surveys.filter(sent_at__isnull=False).order_by("-sent_at", "-id").first()
    )


def inbox_sender_context(user, inbound: InboundSms) -> dict:
    """What helps a person read a message: the survey it would answer (if in the user's
    subtree), that survey's callback, and the sender's other recent messages."""
    survey = inbox_survey_for(inbound)
    if survey is not None and not Survey.objects.filter(scope_q(user), pk=survey.pk).exists():
        survey = None
    callback = (
        Callback.objects.filter(survey=survey, kind=CallbackKind.FIRST).first()
        if survey is not None
        else None
    )
    earlier = (
        InboundSms.objects.filter(scope_q(user), from_mobile_hash=inbound.from_mobile_hash)
        .exclude(pk=inbound.pk)
        .order_by("-received_at", "-id")[:5]
        if inbound.from_mobile_hash
        else []
    )
    return {"survey": survey, "callback": callback, "earlier": list(earlier)}


def _rates(row: dict) -> dict:
    row = {k: (v or 0) if k in SUMS else v for k, v in row.items()}
    row["satisfied"] = row["r1"] + row["r2"] + row["r3"]
    row["unsatisfied"] = row["r4"] + row["r5"]
    row["reply_rate"] = row["n_replies"] / row["n_sent"] if row["n_sent"] else None
    row["satisfaction_rate"] = row["satisfied"] / row["n_replies"] if row["n_replies"] else None
    return row


def satisfaction_summary(user, unit: OrgUnit, *, days: int = 30) -> dict:
    """Figures for the console home over the last `days` days of contacts in `unit`'s
    subtree: totals, by direct child unit, by business type, and by day."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = SatisfactionDaily.objects.filter(
        scope_q(user), unit.subtree_filter("unit__"), day__gte=since
    )
    children = {c.path: c for c in OrgUnit.objects.get_children(unit)}
    by_child = []
    if children:
        branch_len = len(next(iter(children)))
        grouped = (
            rows.filter(unit__depth__gt=unit.depth)
            .annotate(branch=Substr("unit__path", 1, branch_len))
            .values("branch")
            .annotate(**SUMS)
            .order_by("branch")
        )
        by_child = [
            _rates({**g, "unit": children[g["branch"]]}) for g in grouped if g["branch"] in children
        ]
    by_type = [
        _rates(g) for g in rows.values("business_type__name").annotate(**SUMS).order_by("-n_sent")
    ]
    by_day = [_rates(g) for g in rows.values("day").annotate(**SUMS).order_by("day")]
    callbacks = Callback.objects.filter(scope_q(user, "unit__"), unit.subtree_filter("unit__"))
    return {
        "days": days,
        "totals": _rates(rows.aggregate(**SUMS)),
        "by_child": by_child,
        "by_type": by_type,
        "by_day": by_day,
        "callbacks": callbacks.aggregate(
            open=Count("id", filter=Q(status=CallbackStatus.OPEN)),
            overdue=Count("id", filter=Q(status=CallbackStatus.OPEN, due_at__lt=timezone.now())),
        ),
    }

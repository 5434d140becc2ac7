"""Reads of the SMS inbox (短信收件箱), scoped to the actor's subtree."""

from django.db.models import Count, Q

from minyi.callbacks.models import Callback, CallbackKind
from minyi.core.errors import NotFound
from minyi.integrations.sms.models import InboundSms, InboundStatus
from minyi.orgs.selectors import scope_q
from minyi.perception.models import Survey, SurveyStatus

INBOX_TODO = "todo"
INBOX_ALL = "all"

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

"""The SMS inbox is not a dead end (短信收件箱): what a person can make of a message the parser
could not place. Each action locks the message while it is still to do, acts through the
service the rest of the loop uses, and marks the message handled (who, when, how, what it
became) in the same transaction."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Callback, CallbackKind
from minyi.callbacks.services import callback_open
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.inbox.selectors import inbox_survey_for
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    InboxAction,
    OutboundSms,
    SmsPurpose,
)
from minyi.integrations.sms.services import (
    sms_enqueue_unsolicited,
)
from minyi.opinions.services.intake import opinion_submit
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SURVEY_LIFECYCLE, Survey, SurveyReply, SurveyStatus
from minyi.perception.replies import ReplyKind
from minyi.perception.services.replies import survey_answer


def inbox_message_review(*, actor, inbound: InboundSms, now=None) -> None:
    """A person has read a message the system could not handle (短信收件箱). Audited."""
    now = now or timezone.now()
    updated = InboundSms.objects.filter(pk=inbound.pk, status=InboundStatus.NEEDS_REVIEW).update(
        status=InboundStatus.REVIEWED,
        handled_by=actor,
        handled_at=now,
        handled_action=InboxAction.READ,
    )
    if not updated:
        raise ApplicationError("already_reviewed", _("该短信已被查看处理。"), status=409)
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=inbound, detail={"reviewed": True})


# What a person can make of a message the parser could not place. Each action locks the
# message while it is still to do, acts through the service the rest of the loop uses, and
# marks the message handled (who, when, how, what it became) in the same transaction.

INBOX_REPLY_MAX = 300


def inbox_locked(actor, inbound: InboundSms) -> InboundSms:
    """The message, locked, if `actor` may act on it: in their subtree and still to do."""
    if not has_perm(actor, Perm.INBOX_HANDLE):
        raise PermissionDenied()
    visible = InboundSms.objects.filter(scope_q(actor), pk=inbound.pk)
    current = visible.select_for_update(of=("self",)).first()
    if current is None:
        raise NotFound()
    if current.status != InboundStatus.NEEDS_REVIEW:
        raise ApplicationError(
            "already_handled", _("该短信已由他人处理，请刷新后查看处理结果。"), status=409
        )
    return current


def inbox_mark(current: InboundSms, *, actor, action: str, ref: str = "", now, **detail) -> None:
    InboundSms.objects.filter(pk=current.pk, status=InboundStatus.NEEDS_REVIEW).update(
        status=InboundStatus.REVIEWED,
        handled_by=actor,
        handled_at=now,
        handled_action=action,
        handled_ref=ref[:40],
    )
    current.refresh_from_db()
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=current,
        detail={"handled": action, "ref": ref, **detail},
    )


def _inbox_survey(actor, current: InboundSms) -> Survey:
    survey = inbox_survey_for(current)
    if survey is None or not Survey.objects.filter(scope_q(actor), pk=survey.pk).exists():
        raise ApplicationError(
            "no_survey",
            _("该号码在您的管辖范围内没有评价记录，不能记为评价或开启回访；可转为留言或短信回复。"),
            status=409,
        )
    return survey


def inbox_mobile(current: InboundSms) -> str:
    if not current.from_mobile:
        raise ApplicationError(
            "no_mobile", _("该短信的发送号码不是手机号码，无法回复或转为留言。"), status=409
        )
    return current.from_mobile


@transaction.atomic
def inbox_record_rating(*, actor, inbound: InboundSms, rating: int, now=None) -> Survey:
    """A person reads the message as a rating 1–5: it counts like a parsed one, on the
    mobile's open survey, or on its latest one if that expired unanswered (a late reply a
    person has read). An unsatisfied rating opens a callback, through `survey_answer`."""
    now = now or timezone.now()
    current = inbox_locked(actor, inbound)
    if rating not in range(1, 6):
        raise ApplicationError("invalid_rating", _("评价须为 1 到 5。"), field="rating")
    survey = _inbox_survey(actor, current)
    if survey.status == SurveyStatus.EXPIRED:
        SURVEY_LIFECYCLE.move(
            survey,
            actor=actor,
            to=SurveyStatus.SENT,
            note=_("短信收件箱：迟到的回复计入评价"),
            now=now,
        )
    elif survey.status != SurveyStatus.SENT:
        raise ApplicationError(
            "survey_closed",
            _("该号码最近一次评价已完成或已关闭，不能再计入评价；可开启回访或转为留言。"),
            status=409,
        )
    reply = SurveyReply.objects.filter(inbound=current).first() or SurveyReply(
        inbound=current, channel="sms", text=current.text
    )
    reply.survey, reply.kind, reply.rating = survey, ReplyKind.RATING, rating
    reply.comment, reply.counted = current.text[:500], True
    reply.save()
    answered = survey_answer(survey=survey, rating=rating, comment=current.text, via="sms", now=now)
    inbox_mark(
        current, actor=actor, action=InboxAction.RATING, ref=str(rating), now=now, survey=survey.pk
    )
    return answered


@transaction.atomic
def inbox_reply(*, actor, inbound: InboundSms, text: str, now=None) -> OutboundSms:
    """A person answers the message by SMS, through the outbox: never to a number that opted
    out, and at night the answer waits for the morning."""
    now = now or timezone.now()
    current = inbox_locked(actor, inbound)
    mobile = inbox_mobile(current)
    text = (text or "").strip()
    if len(text) < 2:
        raise ApplicationError("reply_required", _("请填写回复内容。"), field="text")
    if len(text) > INBOX_REPLY_MAX:
        raise ApplicationError(
            "reply_too_long",
            _("最多 %(n)d 字，当前 %(len)d 字。") % {"n": INBOX_REPLY_MAX, "len": len(text)},
            field="text",
        )
    message = sms_enqueue_unsolicited(
        mobile=mobile,
        body=f"{settings.SMS_SIGNATURE}{text}",
        purpose=SmsPurpose.INBOX_REPLY,
        now=now,
    )
    if message is None:
        raise ApplicationError(
            "opted_out", _("该号码已退订短信，不能发送。可改为开启回访电话联系。"), status=409
        )
    inbox_mark(current, actor=actor, action=InboxAction.REPLY, ref=str(message.pk), now=now)
    return message


@transaction.atomic
def inbox_open_callback(*, actor, inbound: InboundSms, now=None) -> Callback:
    """A person decides the citizen should be phoned back (the message is a complaint, a
    question, a late "not satisfied"): a callback on the mobile's latest survey, in the
    queue of the right perception centre."""
    now = now or timezone.now()
    current = inbox_locked(actor, inbound)
    survey = _inbox_survey(actor, current)
    existing = Callback.objects.filter(survey=survey, kind=CallbackKind.FIRST).first()
    if existing is not None:
        raise ApplicationError(
            "callback_exists",
            _("该评价已有回访任务（#%(id)d），请在回访工作台处理。") % {"id": existing.pk},
            status=409,
        )
    callback = callback_open(survey=survey, note=_("据短信收件箱的群众短信开启"), now=now)
    inbox_mark(current, actor=actor, action=InboxAction.CALLBACK, ref=str(callback.pk), now=now)
    return callback


@transaction.atomic
def opinion_from_inbound(
    *, actor, inbound: InboundSms, kind: str, unit: OrgUnit | None = None, now=None
):
    """A person turns the message into an opinion (诉求): routed to a unit of their subtree
    (the message's own by default), tracked and answered like one written on the portal,
    with the SMS text as its body. The citizen gave no name: it is anonymous."""
    now = now or timezone.now()
    current = inbox_locked(actor, inbound)
    mobile = inbox_mobile(current)
    unit = unit or current.unit
    if unit is None or not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise ApplicationError(
            "unit_out_of_scope", _("请选择您管辖范围内的承办单位。"), field="unit"
        )
    opinion = opinion_submit(
        kind=kind,
        content=current.text.strip(),
        mobile=mobile,
        anonymous=True,
        unit_id=unit.pk,
        channel="sms",
        now=now,
    )
    inbox_mark(current, actor=actor, action=InboxAction.OPINION, ref=opinion.number, now=now)
    return opinion

"""Step 3, replies (群众评价): a rating by SMS or on the H5 page counts once; what the parser
cannot place goes to the SMS inbox, never lost. An unsatisfied rating hands the survey to the
hook `survey_unsatisfied` (the callbacks app opens the callback)."""

from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    SmsPurpose,
)
from minyi.integrations.sms.services import (
    optout_add,
    sms_enqueue,
)
from minyi.orgs.models import OrgUnit
from minyi.perception.hooks import survey_unsatisfied
from minyi.perception.models import (
    OPEN_SURVEY_STATUSES,
    SURVEY_LIFECYCLE,
    UNSATISFIED_RATINGS,
    Survey,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.perception.services.daily import rollup_add, rollup_key


@transaction.atomic
def survey_answer(*, survey: Survey, rating: int, comment: str, via: str, now=None) -> Survey:
    """Record the citizen's rating (SMS or H5, whichever comes first). The survey must still
    be open; an unsatisfied rating opens a callback."""
    now = now or timezone.now()
    if rating not in range(1, 6):
        raise ApplicationError("invalid_rating", _("评价须为 1 到 5。"), field="rating")
    SURVEY_LIFECYCLE.move(
        survey,
        actor=None,
        to=SurveyStatus.ANSWERED,
        note=via,
        now=now,
        rating=rating,
        comment=comment[:500],
        answered_at=now,
        answered_via=via,
    )
    rollup_add(Counter([rollup_key(survey.event)]), "replies", f"rating_{rating}")
    if rating in UNSATISFIED_RATINGS:
        survey_unsatisfied(survey=survey, now=now)
    return survey


def survey_answer_h5(*, token: str, rating: int, comment: str) -> Survey:
    survey = Survey.objects.select_related("event").filter(token=token).first()
    if survey is None:
        raise ApplicationError("survey_not_found", _("评价链接无效。"), status=404)
    # Kept even when the survey closed meanwhile (answered by SMS, expired): never lost.
    reply = SurveyReply.objects.create(
        survey=survey, channel="h5", text=comment, kind="rating", rating=rating, comment=comment
    )
    answered = survey_answer(survey=survey, rating=rating, comment=comment, via="h5")
    SurveyReply.objects.filter(pk=reply.pk).update(counted=True)
    return answered


def _needs_review(inbound: InboundSms, reason: str) -> None:
    InboundSms.objects.filter(pk=inbound.pk).update(
        status=InboundStatus.NEEDS_REVIEW, review_reason=reason
    )


def reply_record_sms(*, inbound_id: int) -> str:
    """Understand a stored incoming SMS and act on it. Returns what happened."""
    with transaction.atomic():
        # Another worker's sweep or the webhook may hold it: leave it to them.
        inbound = (
            InboundSms.objects.select_for_update(skip_locked=True)
            .filter(pk=inbound_id, status=InboundStatus.RECEIVED)
            .first()
        )
        if inbound is None:
            return "already_processed"
        mobile_hash = inbound.from_mobile_hash
        parsed = parse_reply(inbound.text)
        # Locked: of two replies racing for one survey (an SMS and the H5 page, or two SMS),
        # the second waits here and then finds the survey answered, the ordinary late-reply
        # path, instead of failing inside survey_answer.
        survey = (
            Survey.objects.select_related("event")
            .select_for_update(of=("self",))
            .filter(mobile_hash=mobile_hash, status=SurveyStatus.SENT)
            .first()
            if mobile_hash
            else None
        )
        last = survey or (
            Survey.objects.filter(mobile_hash=mobile_hash, sent_at__isnull=False)
            .order_by("-sent_at")
            .first()
            if mobile_hash
            else None
        )
        # The message goes to the unit the citizen is answering about; with no survey at all,
        # to the city bureau's inbox.
        unit_id = (
            last.unit_id
            if last
            else OrgUnit.objects.filter(depth=1).values_list("pk", flat=True).first()
        )
        InboundSms.objects.filter(pk=inbound.pk).update(
            status=InboundStatus.PROCESSED, unit_id=unit_id
        )
        if not mobile_hash:
            _needs_review(inbound, "invalid_sender")
            return "invalid_sender"
        reply = SurveyReply(
            inbound=inbound,
            channel="sms",
            text=inbound.text,
            kind=parsed.kind,
            rating=parsed.rating,
            comment=parsed.comment,
            survey=survey,
        )
        if parsed.kind == ReplyKind.OPT_OUT:
            if survey is not None and parsed.rating:
                reply.counted = True
                survey_answer(
                    survey=survey, rating=parsed.rating, comment=parsed.comment, via="sms"
                )
            reply.save()
            _cancel_open_surveys(mobile_hash)
            if optout_add(mobile_hash=mobile_hash, source="sms", inbound=inbound):
                sms_enqueue(
                    mobile=inbound.from_mobile,
                    purpose=SmsPurpose.OPT_OUT_CONFIRM,
                    body=f"{settings.SMS_SIGNATURE}您已退订公安服务评价短信，"
                    "今后不再向您发送。感谢您的支持。",
                )
            return "opted_out"
        if survey is None:
            # Not an answer we can attach: a late reply, a question, a second answer.
            reply.survey = last
            reply.save()
            _needs_review(inbound, "no_open_survey")
            return "no_open_survey"
        if parsed.kind == ReplyKind.RATING:
            reply.counted = True
            reply.save()
            survey_answer(survey=survey, rating=parsed.rating, comment=parsed.comment, via="sms")
            return "answered"
        reply.save()
        _needs_review(inbound, "unparsed")
        return "unparsed"


def inbound_process_pending(*, limit: int = 500) -> int:
    """Process stored messages that were not processed yet (a crash between storing and
    parsing leaves them RECEIVED; this sweep finishes the job)."""
    ids = list(
        InboundSms.objects.filter(status=InboundStatus.RECEIVED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for inbound_id in ids:
        reply_record_sms(inbound_id=inbound_id)
    return len(ids)


def _cancel_open_surveys(mobile_hash: str) -> None:
    """An opt-out (退订) cancels the mobile's surveys not yet answered, each with its history."""
    for status in OPEN_SURVEY_STATUSES:
        ids = list(
            Survey.objects.select_for_update()
            .filter(mobile_hash=mobile_hash, status=status)
            .values_list("pk", flat=True)
        )
        if ids:
            Survey.objects.filter(pk__in=ids).update(status=SurveyStatus.CANCELLED)
            SURVEY_LIFECYCLE.record_many(
                ids, from_status=status, to_status=SurveyStatus.CANCELLED, note="退订"
            )

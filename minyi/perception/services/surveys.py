"""Step 2, surveys (满意度回访短信): which contacts get a survey, when it is sent (never at
night), reminders and expiry, the citizen's acknowledgement SMS, and taking a rating out of the
figures after an upheld appeal."""

import secrets
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from minyi.integrations.sms.models import (
    OptOut,
    OutboundSms,
    SmsPurpose,
)
from minyi.integrations.sms.services import (
    in_quiet_hours,
    quiet_hours_end,
    sms_enqueue_unsolicited,
)
from minyi.perception.models import (
    OPEN_SURVEY_STATUSES,
    SURVEY_LIFECYCLE,
    ServiceEvent,
    Survey,
    SurveyDecision,
    SurveyStatus,
)
from minyi.perception.services.daily import rollup_add, rollup_exclude, rollup_key


def next_send_time(moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (no SMS at night)."""
    return quiet_hours_end(moment)


def _decide(event: ServiceEvent, *, now, opted, open_hashes, recent_hashes) -> str:
    bt = event.business_type
    mobile_hash = event.citizen_mobile_hash
    if bt.is_sensitive:
        return SurveyDecision.SENSITIVE
    if not bt.survey_enabled:
        return SurveyDecision.DISABLED
    if not mobile_hash:
        return SurveyDecision.NO_MOBILE
    if mobile_hash in opted:
        return SurveyDecision.OPTED_OUT
    if event.occurred_at < now - timedelta(days=settings.SURVEY_STALE_DAYS):
        return SurveyDecision.STALE
    if mobile_hash in open_hashes:
        return SurveyDecision.OPEN_SURVEY
    if mobile_hash in recent_hashes:
        return SurveyDecision.COOL_OFF
    return SurveyDecision.SCHEDULED


def surveys_schedule_pending(*, now=None, limit: int = 2000) -> int:
    """Decide, for events not yet decided, whether and when to ask the citizen."""
    try:
        return _schedule_pending(now=now or timezone.now(), limit=limit)
    except IntegrityError:
        # Another worker opened a survey for one of these mobiles after we read the open ones
        # (the one-open-survey constraint caught it). Read again and decide again.
        return _schedule_pending(now=now or timezone.now(), limit=limit)


def _schedule_pending(*, now, limit: int) -> int:
    with transaction.atomic():
        events = list(
            ServiceEvent.objects.filter(survey_decision=SurveyDecision.PENDING)
            .select_related("business_type")
            .order_by("id")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if not events:
            return 0
        hashes = {e.citizen_mobile_hash for e in events if e.citizen_mobile_hash}
        opted = set(
            OptOut.objects.filter(mobile_hash__in=hashes).values_list("mobile_hash", flat=True)
        )
        open_hashes = set(
            Survey.objects.filter(
                mobile_hash__in=hashes, status__in=OPEN_SURVEY_STATUSES
            ).values_list("mobile_hash", flat=True)
        )
        cool_off_start = now - timedelta(days=settings.SURVEY_COOL_OFF_DAYS)
        recent_hashes = set(
            Survey.objects.filter(
                mobile_hash__in=hashes, created_at__gte=cool_off_start
            ).values_list("mobile_hash", flat=True)
        )
        decided = defaultdict(list)
        surveys = []
        for event in events:
            decision = _decide(
                event, now=now, opted=opted, open_hashes=open_hashes, recent_hashes=recent_hashes
            )
            decided[decision].append(event.pk)
            if decision == SurveyDecision.SCHEDULED:
                open_hashes.add(event.citizen_mobile_hash)
                delay = timedelta(minutes=event.business_type.survey_delay_minutes)
                surveys.append(
                    Survey(
                        event=event,
                        mobile_hash=event.citizen_mobile_hash,
                        unit_id=event.unit_id,
                        business_type=event.business_type,
                        contact_at=event.occurred_at,
                        token=secrets.token_urlsafe(12),
                        created_at=now,
                        send_at=next_send_time(max(event.occurred_at + delay, now)),
                    )
                )
        Survey.objects.bulk_create(surveys)
        for decision, ids in decided.items():
            ServiceEvent.objects.filter(id__in=ids).update(survey_decision=decision)
    return len(events)


DEFAULT_TEMPLATE = (
    "{signature}您好！您{date}在{unit}办理的{business}已办结，请对本次服务评价：回复1非常满意"
    " 2满意 3基本满意 4不满意 5非常不满意，或点击 {link} 评价。回复TD退订"
)
REMINDER_TEMPLATE = (
    "{signature}您{date}在{unit}办理的{business}尚未评价。如愿意，请回复1-5或点击 {link}"
    " 评价，本提醒仅发送一次。回复TD退订"
)


def survey_link(survey: Survey) -> str:
    return f"{settings.PUBLIC_BASE_URL}/s/{survey.token}"


def survey_text(survey: Survey, template: str | None = None) -> str:
    template = template or survey.business_type.survey_template or DEFAULT_TEMPLATE
    occurred = timezone.localtime(survey.event.occurred_at)
    values = {
        "signature": settings.SMS_SIGNATURE,
        "date": f"{occurred.month}月{occurred.day}日",
        "unit": survey.unit.name,
        "business": survey.business_type.name,
        "link": survey_link(survey),
    }
    try:
        text = template.format(**values)
    except Exception:
        text = ""
    if not text or len(text) > 500:
        text = DEFAULT_TEMPLATE.format(**values)
    return text


def surveys_dispatch_due(*, now=None, limit: int = 1000) -> int:
    """Put the SMS of every due survey in the outbox, in the transaction that marks it sent."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return 0
    with transaction.atomic():
        surveys = list(
            Survey.objects.filter(status=SurveyStatus.SCHEDULED, send_at__lte=now)
            .select_related("event", "unit", "business_type")
            .order_by("send_at", "id")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        if not surveys:
            return 0
        opted = set(
            OptOut.objects.filter(mobile_hash__in={s.mobile_hash for s in surveys}).values_list(
                "mobile_hash", flat=True
            )
        )
        messages, sent, cancelled = [], [], []
        for survey in surveys:
            if survey.mobile_hash in opted:
                cancelled.append(survey.pk)
                continue
            sent.append(survey)
            messages.append(
                OutboundSms(
                    to_mobile=survey.event.citizen_mobile,
                    to_mobile_hash=survey.mobile_hash,
                    body=survey_text(survey),
                    purpose=SmsPurpose.SURVEY,
                    survey=survey,
                    not_before=now,
                )
            )
        OutboundSms.objects.bulk_create(messages)
        # Every survey sent in this pass gets the same times: one UPDATE, not one per row.
        Survey.objects.filter(pk__in=[s.pk for s in sent]).update(
            status=SurveyStatus.SENT,
            sent_at=now,
            expires_at=now + timedelta(hours=settings.SURVEY_EXPIRY_HOURS),
            reminder_due_at=(
                now + timedelta(hours=settings.SURVEY_REMINDER_HOURS)
                if settings.SURVEY_REMINDER_HOURS
                else None
            ),
        )
        Survey.objects.filter(pk__in=cancelled).update(status=SurveyStatus.CANCELLED)
        SURVEY_LIFECYCLE.record_many(
            [s.pk for s in sent],
            from_status=SurveyStatus.SCHEDULED,
            to_status=SurveyStatus.SENT,
            now=now,
        )
        SURVEY_LIFECYCLE.record_many(
            cancelled,
            from_status=SurveyStatus.SCHEDULED,
            to_status=SurveyStatus.CANCELLED,
            note="退订",
            now=now,
        )
        rollup_add(Counter(rollup_key(s.event) for s in sent), "surveys_sent")
    return len(sent)


def surveys_remind_and_expire(*, now=None, limit: int = 1000) -> dict:
    """At most one reminder, never at night; then the survey expires unanswered."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Survey.objects.filter(status=SurveyStatus.SENT, expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        expired = Survey.objects.filter(pk__in=ids).update(status=SurveyStatus.EXPIRED)
        SURVEY_LIFECYCLE.record_many(
            ids, from_status=SurveyStatus.SENT, to_status=SurveyStatus.EXPIRED, now=now
        )
    reminded = 0
    if not in_quiet_hours(now):
        with transaction.atomic():
            due = list(
                Survey.objects.filter(
                    status=SurveyStatus.SENT, reminded_at__isnull=True, reminder_due_at__lte=now
                )
                .select_related("event", "unit", "business_type")
                .select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            opted = set(
                OptOut.objects.filter(mobile_hash__in={s.mobile_hash for s in due}).values_list(
                    "mobile_hash", flat=True
                )
            )
            reminders = [
                OutboundSms(
                    to_mobile=survey.event.citizen_mobile,
                    to_mobile_hash=survey.mobile_hash,
                    body=survey_text(survey, REMINDER_TEMPLATE),
                    purpose=SmsPurpose.REMINDER,
                    survey=survey,
                    not_before=now,
                )
                for survey in due
                if survey.mobile_hash not in opted
            ]
            OutboundSms.objects.bulk_create(reminders)
            reminded = len(reminders)
            Survey.objects.filter(pk__in=[s.pk for s in due]).update(reminded_at=now)
    return {"expired": expired, "reminded": reminded}


def citizen_acknowledge(survey: Survey, body: str, *, now=None) -> None:
    """An acknowledgement SMS (办理告知) to the citizen a survey asked, in the caller's
    transaction (the outbox row commits with the decision): never for a sensitive business
    type, never to a number that opted out, and at night it waits for the morning. The text
    names no business: a phone is seen by others."""
    if survey.business_type.is_sensitive:
        return
    sms_enqueue_unsolicited(
        mobile=survey.event.citizen_mobile,
        body=body,
        purpose=SmsPurpose.ACKNOWLEDGEMENT,
        now=now,
    )


def survey_exclude(*, survey: Survey, now=None) -> bool:
    """Take a rating out of the figures after an upheld appeal (申诉成立): the survey keeps
    its rating for the record; the rollup moves it from its rating to `excluded`."""
    now = now or timezone.now()
    if not Survey.objects.filter(pk=survey.pk, excluded_at__isnull=True).update(excluded_at=now):
        return False
    if survey.rating:
        rollup_exclude(survey.event, survey.rating)
    return True

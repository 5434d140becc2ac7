"""Satisfaction perception loop, steps 1–4 (capability 1, Shaoxing 民意感知): events in,
surveys scheduled and sent, replies understood, unsatisfied citizens called back (the
evaluator's workbench). Work orders and appeals (step 5) are in minyi.workorders.
"""

import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import lookup_hash, mask_text, normalize_mobile
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    InboxAction,
    OptOut,
    OutboundSms,
    SmsPurpose,
)
from minyi.integrations.sms.services import (
    in_quiet_hours,
    optout_add,
    quiet_hours_end,
    sms_enqueue,
    sms_enqueue_unsolicited,
)
from minyi.orgs.models import Officer, OrgUnit, User
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import (
    CALLBACK_ALLOWED,
    OPEN_SURVEY_STATUSES,
    UNSATISFIED_RATINGS,
    Attribution,
    BusinessType,
    Callback,
    CallbackAttempt,
    CallbackEvent,
    CallbackKind,
    CallbackStatus,
    CallbackTier,
    CallOutcome,
    ReasonTag,
    SatisfactionDaily,
    ServiceEvent,
    Survey,
    SurveyDecision,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.perception.selectors import inbox_survey_for

MAX_BATCH = 5000

# --- 1. Ingest -----------------------------------------------------------------------------


@dataclass
class ItemResult:
    index: int
    external_id: str
    status: str  # accepted / duplicate / rejected
    id: int | None = None
    code: str = ""
    message: str = ""


def _reject(index, item, code, message) -> ItemResult:
    return ItemResult(
        index,
        str(item.get("external_id", "")),
        "rejected",
        code=code,
        message=mask_text(str(message)),  # it may quote the input
    )


def events_ingest(
    *, items: list[dict], scope_unit: OrgUnit | None, api_key=None
) -> list[ItemResult]:
    """Store a batch of service events. Idempotent on (source, external_id); each item is
    accepted, a duplicate, or rejected with a code; valid items are kept whatever the others
    are. `scope_unit` limits the units an integrating system may report for (None: all)."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            "batch_too_large", _("一批最多 %(max)d 条事件。") % {"max": MAX_BATCH}, status=413
        )
    now = timezone.now()
    business_types = {b.code: b for b in BusinessType.objects.all()}
    unit_codes = {str(item.get("unit", "")) for item in items}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes)}
    numbers = {str(n) for item in items for n in item.get("officers") or ()}
    officers = {
        o["police_number"]: o
        for o in Officer.objects.filter(police_number__in=numbers).values(
            "id", "police_number", "unit__path"
        )
    }
    keys = {(str(i.get("source", "")), str(i.get("external_id", ""))) for i in items}
    existing = {
        (s, e): (pk, path)
        for s, e, pk, path in ServiceEvent.objects.filter(
            source__in={k[0] for k in keys}, external_id__in={k[1] for k in keys}
        ).values_list("source", "external_id", "id", "unit__path")
        if (s, e) in keys
    }

    results: list[ItemResult] = []
    new: list[tuple[ItemResult, ServiceEvent, list[int]]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        key = (str(item.get("source", "")), str(item.get("external_id", "")))
        business_type = business_types.get(item.get("business_type"))
        unit = units.get(item.get("unit"))
        if unit is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_unit",
                    _("未知的单位代码：%(v)s") % {"v": item.get("unit")},
                )
            )
            continue
        # Scope first: a key must not learn whether another unit's event exists.
        if scope_unit is not None and not scope_unit.contains(unit):
            results.append(
                _reject(
                    index,
                    item,
                    "unit_out_of_scope",
                    _("单位 %(v)s 不在授权范围内。") % {"v": unit.code},
                )
            )
            continue
        if key in existing:
            stored_id, stored_path = existing[key]
            if scope_unit is not None and not stored_path.startswith(scope_unit.path):
                # Stored for a unit outside this key's scope: say nothing about it.
                results.append(
                    _reject(
                        index,
                        item,
                        "unit_out_of_scope",
                        _("单位 %(v)s 不在授权范围内。") % {"v": unit.code},
                    )
                )
            else:
                results.append(ItemResult(index, key[1], "duplicate", id=stored_id))
            continue
        if key in seen:
            results.append(ItemResult(index, key[1], "duplicate"))
            continue
        if business_type is None:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_business_type",
                    _("未知的业务类型：%(v)s") % {"v": item.get("business_type")},
                )
            )
            continue
        # Officers must serve in the event's county/district branch and inside the key's scope.
        branch = unit.path[: OrgUnit.steplen * min(unit.depth, 2)]
        officer_ids, missing = [], []
        for number in item.get("officers") or ():
            officer = officers.get(str(number))
            if (
                officer is None
                or not officer["unit__path"].startswith(branch)
                or (
                    scope_unit is not None and not officer["unit__path"].startswith(scope_unit.path)
                )
            ):
                missing.append(str(number))
            else:
                officer_ids.append(officer["id"])
        if missing:
            results.append(
                _reject(
                    index,
                    item,
                    "unknown_officer",
                    _("未知或不属于该单位的警号：%(v)s") % {"v": "、".join(missing)},
                )
            )
            continue
        mobile = ""
        if item.get("citizen_mobile"):
            try:
                mobile = normalize_mobile(str(item["citizen_mobile"]))
            except ApplicationError as exc:
                results.append(_reject(index, item, exc.code, exc.message))
                continue
        occurred_at = item["occurred_at"]
        if occurred_at > now + timedelta(minutes=10):
            results.append(_reject(index, item, "occurred_in_future", _("发生时间晚于当前时间。")))
            continue
        seen.add(key)
        result = ItemResult(index, key[1], "accepted")
        results.append(result)
        new.append(
            (
                result,
                ServiceEvent(
                    source=key[0],
                    external_id=key[1],
                    business_type=business_type,
                    unit=unit,
                    citizen_mobile=mobile,
                    citizen_mobile_hash=lookup_hash("mobile", mobile),
                    occurred_at=occurred_at,
                    received_at=now,
                    api_key=api_key,
                ),
                officer_ids,
            )
        )

    if new:
        _store_events(new)
    return results


def _store_events(new) -> None:
    try:
        with transaction.atomic():
            created = ServiceEvent.objects.bulk_create([event for _result, event, _ids in new])
            _link_officers(zip([ids for _result, _event, ids in new], created, strict=True))
            _rollup_add(Counter(_rollup_key(e) for e in created), "events")
    except IntegrityError:
        # Another request stored some of these keys a moment ago: one by one, so that the
        # rest are still kept and the late ones reported as duplicates.
        for result, event, officer_ids in new:
            try:
                with transaction.atomic():
                    event.save()
                    _link_officers([(officer_ids, event)])
                    _rollup_add(Counter([_rollup_key(event)]), "events")
            except IntegrityError:
                result.status = "duplicate"
                event.pk = ServiceEvent.objects.get(
                    source=event.source, external_id=event.external_id
                ).pk
        created = [event for _result, event, _ids in new]
    for (result, _event, _ids), event in zip(new, created, strict=True):
        result.id = event.pk


def _link_officers(pairs) -> None:
    through = ServiceEvent.officers.through
    through.objects.bulk_create(
        [through(serviceevent_id=event.pk, officer_id=o) for ids, event in pairs for o in ids]
    )


# --- Rollups ---------------------------------------------------------------------------------


def _rollup_key(event: ServiceEvent) -> tuple:
    day = timezone.localtime(event.occurred_at).date()
    return (day, event.unit_id, event.business_type_id)


ROLLUP_FIELDS = (
    "events",
    "surveys_sent",
    "replies",
    *(f"rating_{i}" for i in range(1, 6)),
    "excluded",
)


def _rollup_add(counts: Counter, *fields: str) -> None:
    """Add counts to SatisfactionDaily rows in one upsert. Keys go in sorted order, so that
    concurrent batches lock rows in the same order and cannot deadlock each other."""
    if not counts:
        return
    if not fields or set(fields) - set(ROLLUP_FIELDS):
        raise ValueError(f"not rollup fields: {fields}")
    table = SatisfactionDaily._meta.db_table
    columns = ", ".join(ROLLUP_FIELDS)
    rows = []
    for (day, unit_id, business_type_id), n in sorted(counts.items()):
        rows.append(
            [day, unit_id, business_type_id, *(n if f in fields else 0 for f in ROLLUP_FIELDS)]
        )
    placeholders = ", ".join(["%s"] * (3 + len(ROLLUP_FIELDS)))
    # Identifiers are the model's own; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (day, unit_id, business_type_id, {columns}) "  # noqa: S608
        f"VALUES ({placeholders}) ON CONFLICT (day, unit_id, business_type_id) "
        "DO UPDATE SET " + ", ".join(f"{f} = {table}.{f} + EXCLUDED.{f}" for f in fields)
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


# --- 2. Scheduling and sending ---------------------------------------------------------------


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
        _rollup_add(Counter(_rollup_key(s.event) for s in sent), "surveys_sent")
    return len(sent)


def surveys_remind_and_expire(*, now=None, limit: int = 1000) -> dict:
    """At most one reminder, never at night; then the survey expires unanswered."""
    now = now or timezone.now()
    expired = Survey.objects.filter(status=SurveyStatus.SENT, expires_at__lte=now).update(
        status=SurveyStatus.EXPIRED
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


# --- 3. Replies ------------------------------------------------------------------------------


@transaction.atomic
def survey_answer(*, survey: Survey, rating: int, comment: str, via: str, now=None) -> Survey:
    """Record the citizen's rating (SMS or H5, whichever comes first). The survey must still
    be open; an unsatisfied rating opens a callback."""
    now = now or timezone.now()
    if rating not in range(1, 6):
        raise ApplicationError("invalid_rating", _("评价须为 1 到 5。"), field="rating")
    updated = Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SENT).update(
        status=SurveyStatus.ANSWERED,
        rating=rating,
        comment=comment[:500],
        answered_at=now,
        answered_via=via,
    )
    if not updated:
        raise ApplicationError("survey_closed", _("该评价已完成或已关闭。"), status=409)
    survey.refresh_from_db()
    _rollup_add(Counter([_rollup_key(survey.event)]), "replies", f"rating_{rating}")
    if rating in UNSATISFIED_RATINGS:
        callback_open(survey=survey, now=now)
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
            Survey.objects.filter(mobile_hash=mobile_hash, status__in=OPEN_SURVEY_STATUSES).update(
                status=SurveyStatus.CANCELLED
            )
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


# --- 4. Callbacks ------------------------------------------------------------------------------


def perception_centre_for(unit: OrgUnit, tier: str) -> OrgUnit:
    """The perception centre that calls back about a contact at `unit`: the one at the
    business type's tier, or the nearest above it when that tier has none."""
    steplen = OrgUnit.steplen
    target_depth = {CallbackTier.CITY: 1, CallbackTier.DISTRICT: 2}.get(tier, unit.depth)
    target_depth = min(target_depth, unit.depth)
    paths = [unit.path[: steplen * d] for d in range(1, target_depth + 1)]
    centre = (
        OrgUnit.objects.filter(path__in=paths, has_perception_centre=True)
        .order_by("-depth")
        .first()
    )
    return centre or OrgUnit.objects.get(path=unit.path[:steplen])


def callback_open(*, survey: Survey, note: str = "不满意评价", now=None) -> Callback:
    now = now or timezone.now()
    centre = perception_centre_for(survey.unit, survey.business_type.callback_tier)
    callback, created = Callback.objects.get_or_create(
        survey=survey,
        kind=CallbackKind.FIRST,
        defaults={
            "centre": centre,
            "unit_id": survey.unit_id,
            "created_at": now,
            "due_at": now + timedelta(hours=settings.CALLBACK_DUE_HOURS),
        },
    )
    if created:
        CallbackEvent.objects.create(
            callback=callback, to_status=CallbackStatus.OPEN, note=note, created_at=now
        )
        citizen_acknowledge(
            survey,
            _("%(sig)s您的评价已收到，我们将在%(hours)d小时内与您联系，感谢您的反馈。")
            % {"sig": settings.SMS_SIGNATURE, "hours": settings.CALLBACK_DUE_HOURS},
            now=now,
        )
    return callback


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


def callback_follow_up_open(*, order, now=None) -> Callback:
    """The second callback (追评) once a unit has reported its rectification: the citizen is
    asked once more, by the centre that made the first call."""
    now = now or timezone.now()
    callback = Callback.objects.create(
        survey_id=order.survey_id,
        kind=CallbackKind.FOLLOW_UP,
        work_order=order,
        centre_id=order.centre_id,
        unit_id=order.unit_id,
        created_at=now,
        due_at=now + timedelta(hours=settings.CALLBACK_DUE_HOURS),
    )
    CallbackEvent.objects.create(
        callback=callback, to_status=CallbackStatus.OPEN, note="整改反馈后追评", created_at=now
    )
    return callback


# --- 4. The callback workbench (回访工作台) ------------------------------------------------


def _available(now) -> Q:
    """Tasks an evaluator may take: open and not waiting for a later attempt, or claimed by
    someone whose claim has lapsed."""
    lapsed = now - timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES)
    return Q(status=CallbackStatus.OPEN) & (
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    ) | Q(status=CallbackStatus.IN_PROGRESS, claimed_at__lt=lapsed)


def _require_work(actor) -> None:
    if not has_perm(actor, Perm.CALLBACK_WORK):
        raise PermissionDenied()


def _callback_event(callback, *, actor, from_status, to_status, note="", now=None):
    CallbackEvent.objects.create(
        callback=callback,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        note=note[:200],
        created_at=now or timezone.now(),
    )


def _claim(actor, pk, now) -> bool:
    """Take task `pk` if it is still available; True when this call won it. The caller has
    checked that the task is in the actor's queue: the UPDATE must not join another table,
    or Django moves its conditions into a subquery that PostgreSQL does not re-check against
    a claim committed meanwhile, and both claims win."""
    with transaction.atomic():
        current = Callback.objects.filter(pk=pk).values_list("status", flat=True).first()
        won = (
            Callback.objects.filter(pk=pk)
            .filter(_available(now))
            .update(
                status=CallbackStatus.IN_PROGRESS,
                assignee=actor,
                claimed_at=now,
                not_before=None,
            )
        )
        if won:
            callback = Callback(pk=pk)
            _callback_event(
                callback,
                actor=actor,
                from_status=current or "",
                to_status=CallbackStatus.IN_PROGRESS,
                note="领取",
                now=now,
            )
        return bool(won)


def callback_claim_next(*, actor, now=None) -> Callback | None:
    """ "Take the next one" (领取下一条): the task already held by `actor`, else the open task
    of their centres due soonest. Two evaluators never get the same task: the claim is an
    UPDATE that succeeds only while the task is still available, and on PostgreSQL candidates
    another transaction is claiming are skipped (SKIP LOCKED) rather than waited for."""
    _require_work(actor)
    now = now or timezone.now()
    with transaction.atomic():
        # One claim at a time per evaluator: a double click waits here for the first click to
        # commit, then finds the task it took, instead of taking a second one.
        list(User.objects.select_for_update().filter(pk=actor.pk).values("pk"))
        held = (
            Callback.objects.filter(status=CallbackStatus.IN_PROGRESS, assignee=actor)
            .order_by("due_at", "id")
            .first()
        )
        if held is not None:
            return held
        return _claim_first_available(actor, now)


def _claim_first_available(actor, now) -> Callback | None:
    queue = scope_q(actor, "centre__")
    candidates = Callback.objects.filter(queue).filter(_available(now)).order_by("due_at", "id")
    for _attempt in range(20):
        with transaction.atomic():
            # Lock the task row only: locking the joined centre row too would make every
            # other evaluator of the centre skip the whole queue while one claim is running.
            pk = (
                candidates.select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                return None
            if _claim(actor, pk, now):
                return Callback.objects.get(pk=pk)
    return None  # lost twenty races in a row: the caller shows "try again"


def callback_claim(*, actor, callback: Callback, now=None) -> Callback:
    """Take a particular task from the list; refused while another evaluator holds it."""
    _require_work(actor)
    now = now or timezone.now()
    queue = scope_q(actor, "centre__")
    if not Callback.objects.filter(queue, pk=callback.pk).exists():
        raise NotFound()
    callback.refresh_from_db()
    if callback.status == CallbackStatus.IN_PROGRESS and callback.assignee_id == actor.pk:
        return callback
    if not _claim(actor, callback.pk, now):
        callback.refresh_from_db()
        if callback.status == CallbackStatus.DONE:
            raise ApplicationError("callback_done", _("该回访任务已完成。"), status=409)
        if callback.status == CallbackStatus.IN_PROGRESS:
            holder = callback.assignee.full_name or callback.assignee.username
            raise ApplicationError(
                "callback_taken", _("该任务已由 %(name)s 领取。") % {"name": holder}, status=409
            )
        if callback.not_before is None:
            raise ApplicationError("stale_state", _("任务状态已变化，请刷新后重试。"), status=409)
        raise ApplicationError(
            "callback_waiting",
            _("上次未接通，%(time)s 后再拨。")
            % {"time": timezone.localtime(callback.not_before).strftime("%H:%M")},
            status=409,
        )
    return Callback.objects.get(pk=callback.pk)


def _held(actor, callback: Callback) -> Callback:
    """The task, locked, if `actor` holds it; refused otherwise."""
    current = Callback.objects.select_for_update().filter(pk=callback.pk).first()
    if current is None:
        raise NotFound()
    if current.status == CallbackStatus.DONE:
        raise ApplicationError("callback_done", _("该回访任务已完成。"), status=409)
    if current.status != CallbackStatus.IN_PROGRESS or current.assignee_id != actor.pk:
        raise ApplicationError(
            "callback_not_held", _("请先领取该任务；它可能已被他人领取。"), status=409
        )
    return current


def _move(callback: Callback, *, actor, to: str, note: str, now, **fields) -> None:
    if to not in CALLBACK_ALLOWED[callback.status]:
        raise ApplicationError(
            "invalid_transition", _("该任务当前状态不能进行此操作。"), status=409
        )
    updated = Callback.objects.filter(pk=callback.pk, status=callback.status).update(
        status=to, **fields
    )
    if not updated:
        raise ApplicationError("stale_state", _("任务状态已变化，请刷新后重试。"), status=409)
    _callback_event(
        callback, actor=actor, from_status=callback.status, to_status=to, note=note, now=now
    )


@transaction.atomic
def callback_release(*, actor, callback: Callback, now=None) -> None:
    """Put a held task back in the queue untouched (放回)."""
    _require_work(actor)
    now = now or timezone.now()
    current = _held(actor, callback)
    _move(current, actor=actor, to=CallbackStatus.OPEN, note="放回", now=now, assignee=None)


def callback_reveal_mobile(*, actor, callback: Callback, request=None) -> str:
    """The citizen's number in full, for the call. Every reveal is audited, refusals too."""
    if not has_perm(actor, Perm.CALLBACK_REVEAL_MOBILE):
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            obj=callback,
            outcome=AuditOutcome.DENIED,
            detail={"field": "citizen_mobile"},
        )
        raise PermissionDenied()
    if not Callback.objects.filter(scope_q(actor, "centre__"), pk=callback.pk).exists():
        raise NotFound()
    mobile = callback.survey.event.citizen_mobile
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=callback,
        detail={"field": "citizen_mobile", "survey": callback.survey_id},
    )
    return mobile


def _clean_tags(tags) -> list[str]:
    cleaned = sorted(set(tags or []))
    unknown = set(cleaned) - set(ReasonTag.values)
    if unknown:
        raise ApplicationError("invalid_tag", _("未知的原因标签。"), field="tags")
    return cleaned


@transaction.atomic
def callback_record(
    *,
    actor,
    callback: Callback,
    outcome: str,
    note: str = "",
    reason_text: str = "",
    tags=(),
    attribution: str = "",
    officer: Officer | None = None,
    follow_up_rating: int | None = None,
    now=None,
) -> Callback:
    """Record one phone call of a held task, all or nothing.

    Not reached: the attempt is counted; after an unanswered call the task goes back to the
    queue and waits CALLBACK_RETRY_MINUTES (another time of day); after CALLBACK_MAX_ATTEMPTS,
    or on a refusal or a wrong number, the citizen counts as unreachable and the task is done.
    Reached, first callback: reason, confirmed tags and attribution are required; police at
    fault dispatches a work order. Reached, 追评: the citizen's second rating is required and
    moves the work order on.
    """
    from minyi.insight.tagging import suggest_tags
    from minyi.workorders import services as workorders

    now = now or timezone.now()
    _require_work(actor)
    current = _held(actor, callback)
    if outcome not in CallOutcome.values:
        raise ApplicationError("invalid_outcome", _("请选择拨打结果。"), field="outcome")
    note = (note or "").strip()[:200]
    CallbackAttempt.objects.create(
        callback=current, evaluator=actor, outcome=outcome, note=note, created_at=now
    )
    attempts = current.attempts + 1
    if outcome != CallOutcome.REACHED:
        retry = outcome == CallOutcome.NO_ANSWER and attempts < settings.CALLBACK_MAX_ATTEMPTS
        if retry:
            _move(
                current,
                actor=actor,
                to=CallbackStatus.OPEN,
                note=f"第{attempts}次拨打：{CallOutcome(outcome).label}",
                now=now,
                attempts=attempts,
                outcome=outcome,
                assignee=None,
                not_before=now + timedelta(minutes=settings.CALLBACK_RETRY_MINUTES),
            )
            return Callback.objects.get(pk=current.pk)
        _move(
            current,
            actor=actor,
            to=CallbackStatus.DONE,
            note=f"第{attempts}次拨打：{CallOutcome(outcome).label}，无法联系",
            now=now,
            attempts=attempts,
            outcome=outcome,
            attribution=Attribution.UNREACHABLE,
            completed_at=now,
            completed_by=actor,
        )
        if current.kind == CallbackKind.FOLLOW_UP:
            workorders.workorder_follow_up_unreachable(
                actor=actor, order=current.work_order, now=now
            )
        return Callback.objects.get(pk=current.pk)

    if current.kind == CallbackKind.FOLLOW_UP:
        if follow_up_rating not in range(1, 6):
            raise ApplicationError(
                "invalid_rating", _("请记录群众的追评（1 到 5）。"), field="follow_up_rating"
            )
        _move(
            current,
            actor=actor,
            to=CallbackStatus.DONE,
            note=f"追评：{follow_up_rating}",
            now=now,
            attempts=attempts,
            outcome=outcome,
            reason_text=reason_text.strip()[:2000],
            follow_up_rating=follow_up_rating,
            completed_at=now,
            completed_by=actor,
        )
        workorders.workorder_follow_up_record(
            actor=actor,
            order=current.work_order,
            rating=follow_up_rating,
            note=reason_text,
            now=now,
        )
        return Callback.objects.get(pk=current.pk)

    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ApplicationError("reason_required", _("请填写不满意原因。"), field="reason_text")
    if len(reason_text) > 2000:
        raise ApplicationError("reason_too_long", _("原因不能超过2000字。"), field="reason_text")
    tags = _clean_tags(tags)
    if not tags:
        raise ApplicationError("tags_required", _("请至少确认一个原因标签。"), field="tags")
    reached = set(Attribution.values) - {Attribution.UNREACHABLE}
    if attribution not in reached:
        raise ApplicationError("attribution_required", _("请选择责任认定。"), field="attribution")
    if officer is not None and not current.survey.event.officers.filter(pk=officer.pk).exists():
        raise ApplicationError(
            "officer_not_on_event", _("责任民警须为该事件的经办民警。"), field="officer"
        )
    _move(
        current,
        actor=actor,
        to=CallbackStatus.DONE,
        note=Attribution(attribution).label,
        now=now,
        attempts=attempts,
        outcome=outcome,
        reason_text=reason_text,
        tags=tags,
        # What the tagger proposed, beside what the evaluator confirmed: its quality figures.
        suggested_tags=suggest_tags(reason_text),
        attribution=attribution,
        officer=officer,
        completed_at=now,
        completed_by=actor,
    )
    current.refresh_from_db()
    if attribution == Attribution.AT_FAULT:
        workorders.workorder_dispatch(actor=actor, callback=current, now=now)
    return current


def callback_close_follow_ups(*, actor, order, note: str, now=None) -> None:
    """An order cancelled by an upheld appeal needs no 追评: its open follow-up is closed."""
    now = now or timezone.now()
    for callback in Callback.objects.filter(
        work_order=order, status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS]
    ):
        _move(
            callback,
            actor=actor,
            to=CallbackStatus.DONE,
            note=note,
            now=now,
            assignee=None,
            completed_at=now,
            completed_by=actor,
        )


def survey_exclude(*, survey: Survey, now=None) -> bool:
    """Take a rating out of the figures after an upheld appeal (申诉成立): the survey keeps
    its rating for the record; the rollup moves it from its rating to `excluded`."""
    now = now or timezone.now()
    if not Survey.objects.filter(pk=survey.pk, excluded_at__isnull=True).update(excluded_at=now):
        return False
    if survey.rating:
        day, unit_id, business_type_id = _rollup_key(survey.event)
        SatisfactionDaily.objects.filter(
            day=day, unit_id=unit_id, business_type_id=business_type_id
        ).update(
            replies=F("replies") - 1,
            excluded=F("excluded") + 1,
            **{f"rating_{survey.rating}": F(f"rating_{survey.rating}") - 1},
        )
    return True


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


# --- The SMS inbox is not a dead end (短信收件箱) ---------------------------------------------
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
        Survey.objects.filter(pk=survey.pk, status=SurveyStatus.EXPIRED).update(
            status=SurveyStatus.SENT
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

"""Every write of meetings and live programmes (恳谈会、广场警务活动日、110直播室): schedule,
record attendance, key in the questions raised (each one an opinion through
`opinion_key_in`), write each answered question's public answer (公开答复), the minutes and
the follow-up, publish, cancel; and schedule the 110直播室 on the coming working days."""

from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.community.models import AreaLevel, GridArea
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.lifecycle import Lifecycle, lock_in_scope
from minyi.core.models import AuditAction
from minyi.core.workdays import WorkCalendar
from minyi.meetings.models import (
    MEETING_ALLOWED,
    Meeting,
    MeetingEvent,
    MeetingKind,
    MeetingQuestion,
    MeetingStatus,
)
from minyi.opinions.models import OPEN_STATUSES, OpinionKind
from minyi.opinions.services.intake import opinion_key_in
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q

M = MeetingStatus
MEETING_LIFECYCLE = Lifecycle(
    model=Meeting,
    allowed=MEETING_ALLOWED,
    event_model=MeetingEvent,
    event_fk="meeting",
    refused=gettext_lazy("该活动当前状态为“%(status)s”，不能进行此操作。"),
    stale=gettext_lazy("该活动状态已变化，请刷新后重试。"),
)
# A meeting lasts at most this long (a plaza day runs all day, not for days).
MAX_DURATION = timedelta(hours=12)
# A meeting may be entered after it was held (the clerk keys in last week's 恳谈会), not one
# from long ago by a mistyped year.
PAST_ENTRY = timedelta(days=30)
SUMMARY_MIN = 4
PUBLIC_ANSWER_MAX = 500
MINUTES_MAX = 5000
RADIO_DAYS_MAX = 20
RADIO_DEFAULTS = {"at": time(9, 0), "minutes": 60}


def _lock(actor, meeting: Meeting) -> Meeting:
    """The meeting, locked, when the actor may manage it (else PermissionDenied / NotFound)."""
    return lock_in_scope(
        Meeting.objects.all(),
        meeting.pk,
        scope=scope_q(actor),
        allowed=has_perm(actor, Perm.MEETING_MANAGE),
    )


def _check_unit(actor, unit: OrgUnit) -> None:
    if unit is None or not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise ApplicationError("invalid_unit", _("只能由本单位或下级单位主办。"), field="unit")


def _check_community(unit: OrgUnit, community: GridArea | None) -> None:
    if community is None:
        return
    if community.level != AreaLevel.COMMUNITY:
        raise ApplicationError("not_a_community", _("请选择社区一级的网格。"), field="community")
    if not unit.contains(community.station):
        raise ApplicationError(
            "community_outside_unit",
            _("“%(name)s”不在主办单位的辖区内，请另选社区或主办单位。") % {"name": community.name},
            field="community",
        )


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ApplicationError("ends_before_start", _("结束时间须晚于开始时间。"), field="ends_at")
    if ends_at - starts_at > MAX_DURATION:
        raise ApplicationError(
            "too_long", _("一场活动不能超过 12 小时，跨天的请分场安排。"), field="ends_at"
        )


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _text(value: str, *, field: str, label: str, high: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError("required", _("请填写%(label)s。") % {"label": label}, field=field)
    if len(value) > high:
        raise ApplicationError(
            "too_long",
            _("%(label)s不能超过 %(n)d 个字。") % {"label": label, "n": high},
            field=field,
        )
    return value


@transaction.atomic
def meeting_save(
    *,
    actor,
    kind: str,
    unit: OrgUnit,
    title: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    agenda: str = "",
    community: GridArea | None = None,
    meeting: Meeting | None = None,
    now=None,
) -> Meeting:
    """Schedule a meeting, or change a scheduled one (its time, place, agenda…)."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.MEETING_MANAGE):
        raise ApplicationError("forbidden", _("无权安排恳谈会和直播。"), status=403)
    if kind not in MeetingKind.values:
        raise ApplicationError("invalid_kind", _("请选择活动类型。"), field="kind")
    _check_unit(actor, unit)
    _check_community(unit, community)
    _check_times(starts_at, ends_at)
    fields = {
        "kind": kind,
        "unit": unit,
        "community": community,
        "title": _text(title, field="title", label=_("主题"), high=100),
        "place": _text(place, field="place", label=_("地点"), high=100),
        "agenda": _text(agenda, field="agenda", label=_("议程"), high=2000, required=False),
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    if meeting is None:
        if starts_at < now - PAST_ENTRY:
            raise ApplicationError(
                "starts_in_past", _("开始时间已过，请核对日期。"), field="starts_at"
            )
        try:
            with transaction.atomic():
                meeting = Meeting.objects.create(created_by=actor, **fields)
        except IntegrityError as exc:
            raise ApplicationError(
                "radio_exists", _("该时间已有一期110直播室。"), field="starts_at"
            ) from exc
        MEETING_LIFECYCLE.record(meeting, actor=actor, to_status=M.SCHEDULED, now=now)
        audit_record(action=AuditAction.CREATE, actor=actor, obj=meeting)
        return meeting
    current = _lock(actor, meeting)
    if current.status != M.SCHEDULED:
        raise ApplicationError(
            "not_scheduled", _("活动已召开或已取消，不能再修改安排。"), status=409
        )
    if current.questions.exists():
        # The questions were received at this meeting, by its channel and at its time.
        if kind != current.kind:
            raise ApplicationError(
                "has_questions",
                _("本场活动已录入群众提问，不能再改变活动类型。"),
                field="kind",
                status=409,
            )
        if _minute(starts_at) == _minute(current.starts_at):
            fields["starts_at"] = current.starts_at  # the form drops the seconds
        else:
            raise ApplicationError(
                "has_questions",
                _("本场活动已录入群众提问，不能再修改开始时间。"),
                field="starts_at",
                status=409,
            )
    for name, value in fields.items():
        setattr(current, name, value)
    try:
        with transaction.atomic():
            current.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "radio_exists", _("该时间已有一期110直播室。"), field="starts_at"
        ) from exc
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current)
    return current


@transaction.atomic
def meeting_record_attendance(
    *, actor, meeting: Meeting, citizens_count: int, officers_present: str, now=None
) -> Meeting:
    """Record who came (参加群众人数、出席民警); a scheduled meeting that has begun becomes held."""
    now = now or timezone.now()
    current = _lock(actor, meeting)
    if current.status not in (M.SCHEDULED, M.HELD):
        raise MEETING_LIFECYCLE.refusal(current)
    if current.starts_at > now:
        raise ApplicationError("not_started", _("活动尚未开始，不能登记参加情况。"), status=409)
    if citizens_count is None or citizens_count < 0:
        raise ApplicationError("invalid_count", _("请填写参加群众人数。"), field="citizens_count")
    fields = {
        "citizens_count": citizens_count,
        "officers_present": _text(
            officers_present, field="officers_present", label=_("出席民警"), high=300
        ),
    }
    if current.status == M.SCHEDULED:
        return MEETING_LIFECYCLE.move(current, actor=actor, to=M.HELD, now=now, **fields)
    Meeting.objects.filter(pk=current.pk).update(**fields)
    current.refresh_from_db()
    return current


@transaction.atomic
def meeting_write_minutes(*, actor, meeting: Meeting, minutes: str, follow_up: str = "") -> Meeting:
    """The minutes (会议纪要) and the follow-up (后续成效, e.g. "公交站扒窃已打掉"), written after
    the meeting; the follow-up may come long after the minutes were published."""
    current = _lock(actor, meeting)
    if current.status not in (M.HELD, M.PUBLISHED):
        raise ApplicationError("not_held", _("活动尚未召开，请先登记参加情况。"), status=409)
    current.minutes = _text(
        minutes, field="minutes", label=_("会议纪要"), high=MINUTES_MAX, required=False
    )
    current.follow_up = _text(
        follow_up, field="follow_up", label=_("后续成效"), high=MINUTES_MAX, required=False
    )
    if current.status == M.PUBLISHED and not current.minutes:
        raise ApplicationError("minutes_required", _("纪要已公开，不能清空。"), field="minutes")
    current.save(update_fields=["minutes", "follow_up", "updated_at"])
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current)
    return current


@transaction.atomic
def meeting_publish(*, actor, meeting: Meeting, now=None) -> Meeting:
    """Publish the minutes on the citizen portal. Questions still open show as 办理中 and
    their answers appear once given."""
    now = now or timezone.now()
    current = _lock(actor, meeting)
    if current.status == M.SCHEDULED:
        raise ApplicationError(
            "not_held", _("活动尚未召开，不能公开纪要；请先登记参加情况。"), status=409
        )
    MEETING_LIFECYCLE.check(current, M.PUBLISHED)
    if not current.minutes.strip():
        raise ApplicationError("minutes_required", _("请先填写会议纪要再公开。"), status=409)
    return MEETING_LIFECYCLE.move(current, actor=actor, to=M.PUBLISHED, now=now, published_at=now)


@transaction.atomic
def meeting_cancel(*, actor, meeting: Meeting, reason: str, now=None) -> Meeting:
    """Call off a scheduled meeting; not one where questions were already recorded (it took
    place: record the attendance and the minutes instead)."""
    current = _lock(actor, meeting)
    if current.status == M.SCHEDULED and current.questions.exists():
        raise ApplicationError(
            "has_questions",
            _("本场活动已录入群众提问，说明已经召开，不能取消；请登记参加情况并填写纪要。"),
            status=409,
        )
    reason = _text(reason, field="reason", label=_("取消原因"), high=200)
    return MEETING_LIFECYCLE.move(
        current, actor=actor, to=M.CANCELLED, note=reason, now=now, cancel_reason=reason
    )


@transaction.atomic
def question_add(
    *,
    actor,
    meeting: Meeting,
    kind: str,
    content: str,
    summary: str,
    contact_name: str = "",
    mobile: str = "",
    consent: bool = False,
    answered_on_spot: bool = False,
    spot_answer: str = "",
    now=None,
) -> MeetingQuestion:
    """A question raised at the meeting, keyed in as an opinion of the meeting's channel,
    handled by the organising unit, received at the meeting's start (a 110直播室 call: now,
    or the programme's end when keyed in afterwards)."""
    now = now or timezone.now()
    current = _lock(actor, meeting)
    if current.status in (M.PUBLISHED, M.CANCELLED):
        raise ApplicationError(
            "meeting_closed",
            _("该活动“%(status)s”，不能再添加提问。") % {"status": current.get_status_display()},
            status=409,
        )
    if current.starts_at > now:
        raise ApplicationError("not_started", _("活动尚未开始，不能录入提问。"), status=409)
    summary = _text(summary, field="summary", label=_("问题摘要"), high=200)
    if len(summary) < SUMMARY_MIN:
        raise ApplicationError(
            "summary_too_short",
            _("问题摘要至少 %(n)d 个字。") % {"n": SUMMARY_MIN},
            field="summary",
        )
    spot_answer = _text(
        spot_answer, field="spot_answer", label=_("现场解答"), high=300, required=answered_on_spot
    )
    received_at = (
        min(now, current.ends_at) if current.kind == MeetingKind.RADIO else current.starts_at
    )
    opinion = opinion_key_in(
        actor=actor,
        channel=current.channel,
        kind=kind,
        content=content,
        contact_name=contact_name,
        mobile=mobile,
        consent=consent,
        area=current.community.name if current.community_id else current.place,
        unit_id=current.unit_id,
        received_at=received_at,
        now=now,
    )
    last = current.questions.aggregate(n=Max("order"))["n"] or 0
    question = MeetingQuestion.objects.create(
        meeting=current,
        opinion=opinion,
        summary=summary,
        asked_at=received_at,
        order=last + 1,
        answered_on_spot=answered_on_spot,
        spot_answer=spot_answer if answered_on_spot else "",
        created_by=actor,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=question)
    return question


@transaction.atomic
def question_write_public_answer(
    *, actor, question: MeetingQuestion, public_answer: str
) -> MeetingQuestion:
    """The answer the portal shows for an answered question (公开答复), written by staff
    without personal data; the answer sent to the citizen stays with the opinion. Empty
    withdraws it. Not for a tip (线索举报): it never goes public."""
    current = _lock(actor, question.meeting)
    question = MeetingQuestion.objects.select_related("opinion").get(
        pk=question.pk, meeting=current
    )
    if question.opinion.kind == OpinionKind.TIP:
        raise ApplicationError(
            "tip_not_public", _("线索举报不公开，不能填写公开答复。"), status=409
        )
    if question.opinion.status in OPEN_STATUSES:
        raise ApplicationError(
            "not_answered",
            _("该诉求尚未答复，请先在诉求页面答复群众，再填写公开答复。"),
            field="public_answer",
            status=409,
        )
    question.public_answer = _text(
        public_answer,
        field="public_answer",
        label=_("公开答复"),
        high=PUBLIC_ANSWER_MAX,
        required=False,
    )
    question.save(update_fields=["public_answer"])
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=question)
    return question


def working_days_from(start, count: int) -> list:
    """The first `count` working days from `start` (itself included when it is one)."""
    calendar = WorkCalendar(start, start + timedelta(days=count * 3 + 14))
    days, day = [], start
    while len(days) < count:
        if calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


@transaction.atomic
def radio_schedule(
    *,
    actor,
    unit: OrgUnit,
    start,
    days: int,
    at: time,
    minutes: int,
    title: str,
    place: str,
    now=None,
) -> list[Meeting]:
    """The 110直播室 on each of the next `days` working days from `start`, at `at` for
    `minutes`. A programme already scheduled at that hour is kept, not doubled: running it
    twice, or twice at once, schedules nothing new (the database's one-per-hour constraint
    decides, each programme in its own savepoint)."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.MEETING_MANAGE):
        raise ApplicationError("forbidden", _("无权安排恳谈会和直播。"), status=403)
    _check_unit(actor, unit)
    if not 1 <= days <= RADIO_DAYS_MAX:
        raise ApplicationError(
            "invalid_days",
            _("一次可安排 1 至 %(n)d 个工作日。") % {"n": RADIO_DAYS_MAX},
            field="days",
        )
    if not 10 <= minutes <= 240:
        raise ApplicationError(
            "invalid_minutes", _("时长须在 10 至 240 分钟之间。"), field="minutes"
        )
    if start < timezone.localdate(now):
        raise ApplicationError("start_in_past", _("起始日期不能早于今天。"), field="start")
    title = _text(title, field="title", label=_("主题"), high=100)
    place = _text(place, field="place", label=_("地点"), high=100)
    tz = timezone.get_current_timezone()
    created = []
    for day in working_days_from(start, days):
        starts_at = datetime.combine(day, at, tzinfo=tz)
        try:
            with transaction.atomic():
                meeting = Meeting.objects.create(
                    kind=MeetingKind.RADIO,
                    unit=unit,
                    title=title,
                    place=place,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=minutes),
                    created_by=actor,
                )
        except IntegrityError:
            continue  # already scheduled at that hour (by an earlier run or a concurrent one)
        MEETING_LIFECYCLE.record(meeting, actor=actor, to_status=M.SCHEDULED, now=now)
        created.append(meeting)
    if created:
        audit_record(
            action=AuditAction.CREATE, actor=actor, obj=unit, detail={"radio": len(created)}
        )
    return created

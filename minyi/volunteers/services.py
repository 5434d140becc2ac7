"""Every write of volunteers (群防群治): the registry with consent, partner organisations,
activities, sign-ups, attendance and hours, and the patrol check-ins volunteers' patrols of key
areas leave for patrol visibility (巡逻见警率).

Callers (staff views, citizen views, the demo) read the rows they pass in through the scoped
selectors; the services check that the rows belong together (a volunteer of the activity's
station, a community of the volunteer's station).
"""

import math
import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.community.models import AreaLevel, GridArea, PatrolCheckin
from minyi.community.patrol import checkins_ingest, passes_compute
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue_unsolicited
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.volunteers.models import (
    ACTIVITY_ALLOWED,
    Activity,
    ActivityKind,
    ActivityStatus,
    Availability,
    PartnerKind,
    PartnerOrganisation,
    Signup,
    Skill,
    Volunteer,
    VolunteerSource,
    VolunteerStatus,
)

# The notice a volunteer agrees to (志愿者个人信息告知书); its version is kept with the consent.
CONSENT_VERSION = "2026-12"
CONSENT_TEXT = gettext_lazy(
    "我自愿登记为公安机关群防群治志愿者。我同意公安机关收集并保存我的姓名、手机号码、所在社区、"
    "特长和可参与时间，仅用于组织志愿活动、发送活动通知和记录服务时长，不用于其他目的，不向"
    "其他单位提供。我可以随时申请退出；退出后可申请删除姓名和手机号码，服务时长仅以匿名方式"
    "保留用于统计。"
)
NAME_MAX = 30
CAPACITY_MAX = 500
HOURS_MAX = Decimal("24")
# A volunteers' patrol of a key area counts as one pass (巡逻经过) every this many minutes.
PATROL_CHECKIN_MINUTES = 30
PATROL_SOURCE = "volunteer"
_PHONE_RE = re.compile(r"^[0-9+\- ]{7,20}$")


def _changed(actor, obj, action=AuditAction.CHANGE, **detail) -> None:
    audit_record(action=action, actor=actor, obj=obj, detail=detail)


# --- Checks -----------------------------------------------------------------------------------


def _station_in_scope(actor, unit: OrgUnit | None) -> OrgUnit:
    if unit is None or unit.kind != UnitKind.POLICE_STATION:
        raise ApplicationError("invalid_unit", _("请选择派出所。"), field="unit")
    if actor is not None and not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise NotFound()
    return unit


def _choices(values, allowed, *, field: str) -> list[str]:
    cleaned = sorted(set(values or []))
    if set(cleaned) - set(allowed):
        raise ApplicationError("invalid_choice", _("选项不在可选范围内。"), field=field)
    return cleaned


def _community_check(unit: OrgUnit, community: GridArea | None) -> None:
    if community is not None and (
        community.station_id != unit.pk or community.level != AreaLevel.COMMUNITY
    ):
        raise ApplicationError(
            "invalid_community", _("所选社区不属于该派出所。"), field="community"
        )


def _organisation_check(unit: OrgUnit, organisation: PartnerOrganisation | None) -> None:
    if organisation is not None and organisation.unit_id != unit.pk:
        raise ApplicationError(
            "invalid_organisation", _("所选合作单位不属于该派出所。"), field="organisation"
        )


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("name_required", _("请填写姓名。"), field="name")
    if len(name) > NAME_MAX:
        raise ApplicationError(
            "name_too_long", _("姓名不超过 %(max)d 个字。") % {"max": NAME_MAX}, field="name"
        )
    return name


def consent_refusal() -> ApplicationError:
    return ApplicationError(
        "consent_required",
        _(
            "未取得本人同意，不能登记为志愿者。请向本人宣读志愿者个人信息告知书，"
            "本人同意后再勾选“本人已同意”。"
        ),
        field="consent",
    )


# --- Volunteers ---------------------------------------------------------------------------------


@transaction.atomic
def volunteer_register(
    *,
    actor,
    unit: OrgUnit,
    name: str,
    mobile: str,
    consent: bool,
    community: GridArea | None = None,
    organisation: PartnerOrganisation | None = None,
    skills=(),
    availability=(),
    availability_note: str = "",
    public_name: bool = False,
    source: str = VolunteerSource.STAFF,
    now: datetime | None = None,
) -> Volunteer:
    """Register a volunteer of `unit` with the person's consent (PIPL): refused without it. A
    withdrawn volunteer of the station who registers again is the same row, active again, with
    the new consent. `actor` is None when the citizen registers themself."""
    if not consent:
        raise consent_refusal()
    _station_in_scope(actor, unit)
    name = _name_clean(name)
    mobile = normalize_mobile(mobile)
    _community_check(unit, community)
    _organisation_check(unit, organisation)
    skills = _choices(skills, Skill.values, field="skills")
    availability = _choices(availability, Availability.values, field="availability")
    mobile_hash = lookup_hash("mobile", mobile)
    volunteer = (
        Volunteer.objects.select_for_update().filter(unit=unit, mobile_hash=mobile_hash).first()
    )
    if volunteer is not None and volunteer.status == VolunteerStatus.ACTIVE:
        raise ApplicationError(
            "already_registered", _("该手机号已登记为本所志愿者。"), field="mobile"
        )
    created = volunteer is None
    volunteer = volunteer or Volunteer(unit=unit, mobile_hash=mobile_hash)
    now = now or timezone.now()
    volunteer.name, volunteer.mobile = name, mobile
    volunteer.community, volunteer.organisation = community, organisation
    volunteer.skills, volunteer.availability = skills, availability
    volunteer.availability_note = (availability_note or "").strip()[:200]
    volunteer.public_name = public_name
    volunteer.consent_at, volunteer.consent_version = now, CONSENT_VERSION
    volunteer.source = source
    volunteer.status, volunteer.withdrawn_at = VolunteerStatus.ACTIVE, None
    _volunteer_save(volunteer)
    _changed(
        actor,
        volunteer,
        AuditAction.CREATE if created else AuditAction.CHANGE,
        volunteer_register=source,
        consent_version=CONSENT_VERSION,
    )
    return volunteer


def _volunteer_save(volunteer: Volunteer) -> None:
    """Save in a savepoint: a registration of the same number committed since we looked (two
    submissions at once) breaks the unique (unit, mobile_hash) and answers like one seen."""
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError:
        raise ApplicationError(
            "already_registered", _("该手机号已登记为本所志愿者。"), field="mobile"
        ) from None


@transaction.atomic
def volunteer_update(
    *,
    actor,
    volunteer: Volunteer,
    name: str,
    mobile: str = "",
    community: GridArea | None = None,
    organisation: PartnerOrganisation | None = None,
    skills=(),
    availability=(),
    availability_note: str = "",
    public_name: bool = False,
) -> Volunteer:
    """Change a volunteer's details; a blank `mobile` keeps the number."""
    if volunteer.is_erased:
        raise ApplicationError("erased", _("该志愿者的信息已删除，不能修改。"))
    unit = volunteer.unit
    volunteer.name = _name_clean(name)
    if mobile:
        mobile = normalize_mobile(mobile)
        mobile_hash = lookup_hash("mobile", mobile)
        if (
            Volunteer.objects.filter(unit=unit, mobile_hash=mobile_hash)
            .exclude(pk=volunteer.pk)
            .exists()
        ):
            raise ApplicationError(
                "already_registered", _("该手机号已登记为本所志愿者。"), field="mobile"
            )
        volunteer.mobile, volunteer.mobile_hash = mobile, mobile_hash
    _community_check(unit, community)
    _organisation_check(unit, organisation)
    volunteer.community, volunteer.organisation = community, organisation
    volunteer.skills = _choices(skills, Skill.values, field="skills")
    volunteer.availability = _choices(availability, Availability.values, field="availability")
    volunteer.availability_note = (availability_note or "").strip()[:200]
    volunteer.public_name = public_name
    _volunteer_save(volunteer)
    _changed(actor, volunteer, volunteer_update=True, mobile_changed=bool(mobile))
    return volunteer


@transaction.atomic
def volunteer_withdraw(*, actor, volunteer: Volunteer, now: datetime | None = None) -> None:
    """The volunteer leaves (退出): no longer listed for activities; their sign-ups for
    activities not yet begun are removed, the hours already given stay."""
    now = now or timezone.now()
    moved = Volunteer.objects.filter(pk=volunteer.pk, status=VolunteerStatus.ACTIVE).update(
        status=VolunteerStatus.WITHDRAWN, withdrawn_at=now
    )
    if not moved:
        raise ApplicationError("not_active", _("该志愿者已退出。"))
    Signup.objects.filter(volunteer=volunteer, activity__starts_at__gt=now).delete()
    volunteer.refresh_from_db()
    _changed(actor, volunteer, volunteer_withdraw=True)


@transaction.atomic
def volunteer_erase(*, actor, volunteer: Volunteer, now: datetime | None = None) -> None:
    """Erase a withdrawn volunteer's personal information on request (PIPL 删除权): name,
    mobile and its hash, community, organisation, skills and times are cleared; the hours stay,
    under no name, in the station's figures."""
    moved = Volunteer.objects.filter(
        pk=volunteer.pk, status=VolunteerStatus.WITHDRAWN, erased_at__isnull=True
    ).update(
        name="",
        mobile="",
        mobile_hash="",
        community=None,
        organisation=None,
        skills=[],
        availability=[],
        availability_note="",
        public_name=False,
        erased_at=now or timezone.now(),
    )
    if not moved:
        raise ApplicationError(
            "not_withdrawn", _("只能删除已退出志愿者的个人信息，且不能重复删除。")
        )
    volunteer.refresh_from_db()
    _changed(actor, volunteer, AuditAction.DELETE, volunteer_erase=True)


def volunteer_reveal_mobile(*, actor, volunteer: Volunteer, request=None) -> str:
    """The volunteer's number in full, to call them. Every reveal is audited."""
    if not Volunteer.objects.filter(scope_q(actor), pk=volunteer.pk).exists():
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            obj=volunteer,
            outcome=AuditOutcome.DENIED,
            detail={"field": "volunteer_mobile"},
        )
        raise PermissionDenied()
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=volunteer,
        detail={"field": "volunteer_mobile"},
    )
    return volunteer.mobile


# --- Partner organisations ----------------------------------------------------------------------


@transaction.atomic
def organisation_save(
    *,
    actor,
    unit: OrgUnit,
    name: str,
    kind: str,
    contact_name: str = "",
    contact_mobile: str = "",
    active: bool = True,
    organisation: PartnerOrganisation | None = None,
) -> PartnerOrganisation:
    """Add or change a partner organisation (合作单位) of `unit`."""
    _station_in_scope(actor, unit)
    name = (name or "").strip()
    if not name:
        raise ApplicationError("name_required", _("请填写单位名称。"), field="name")
    if kind not in PartnerKind.values:
        raise ApplicationError("invalid_choice", _("请选择类别。"), field="kind")
    contact_mobile = (contact_mobile or "").strip()
    if contact_mobile and not _PHONE_RE.match(contact_mobile):
        raise ApplicationError(
            "invalid_phone",
            _("联系电话格式不正确：应为手机号码或带区号的固定电话。"),
            field="contact_mobile",
        )
    clash = PartnerOrganisation.objects.filter(unit=unit, name=name)
    if organisation is not None:
        clash = clash.exclude(pk=organisation.pk)
    if clash.exists():
        raise ApplicationError("duplicate", _("本所已有同名的合作单位。"), field="name")
    created = organisation is None
    organisation = organisation or PartnerOrganisation(unit=unit)
    organisation.name, organisation.kind, organisation.active = name, kind, active
    organisation.contact_name = (contact_name or "").strip()[:30]
    organisation.contact_mobile = contact_mobile
    organisation.save()
    _changed(
        actor,
        organisation,
        AuditAction.CREATE if created else AuditAction.CHANGE,
        partner=organisation.name,
    )
    return organisation


# --- Activities ---------------------------------------------------------------------------------


@transaction.atomic
def activity_save(
    *,
    actor,
    unit: OrgUnit,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    area: GridArea | None = None,
    place: str = "",
    description: str = "",
    activity: Activity | None = None,
    now: datetime | None = None,
) -> Activity:
    """Post (发布) or change an activity of `unit`. A patrol names the area it covers. A
    change after attendance was recorded moves the patrol's check-ins with it (area, times)."""
    _station_in_scope(actor, unit)
    title = (title or "").strip()
    if not title:
        raise ApplicationError("title_required", _("请填写活动名称。"), field="title")
    if kind not in ActivityKind.values:
        raise ApplicationError("invalid_choice", _("请选择活动类别。"), field="kind")
    if ends_at <= starts_at:
        raise ApplicationError("invalid_span", _("结束时间应晚于开始时间。"), field="ends_at")
    if ends_at - starts_at > timedelta(hours=24):
        raise ApplicationError(
            "invalid_span", _("一次活动不超过 24 小时，更长的请分次发布。"), field="ends_at"
        )
    if kind == ActivityKind.PATROL and area is None:
        raise ApplicationError("area_required", _("巡逻活动请选择巡逻的网格。"), field="area")
    if area is not None and area.station_id != unit.pk:
        raise ApplicationError("invalid_area", _("所选网格不属于该派出所。"), field="area")
    if not 1 <= (capacity or 0) <= CAPACITY_MAX:
        raise ApplicationError(
            "invalid_capacity",
            _("招募人数应在 1 到 %(max)d 之间。") % {"max": CAPACITY_MAX},
            field="capacity",
        )
    if activity is not None:
        if activity.status != ActivityStatus.OPEN:
            raise ApplicationError("not_open", _("活动已结束或已取消，不能修改。"))
        signed = activity.signups.count()
        if capacity < signed:
            raise ApplicationError(
                "invalid_capacity",
                _("已有 %(n)d 人报名，招募人数不能少于报名人数。") % {"n": signed},
                field="capacity",
            )
    created = activity is None
    activity = activity or Activity(unit=unit, created_by=actor)
    activity.title, activity.kind, activity.area, activity.place = title, kind, area, place
    activity.starts_at, activity.ends_at, activity.capacity = starts_at, ends_at, capacity
    activity.description = description or ""
    activity.save()
    if not created:
        _patrol_checkins_sync(activity, now=now or timezone.now())
    _changed(
        actor,
        activity,
        AuditAction.CREATE if created else AuditAction.CHANGE,
        activity=activity.title,
    )
    return activity


@transaction.atomic
def activity_move(*, actor, activity: Activity, to: str, now: datetime | None = None) -> None:
    """End (结束) or cancel (取消) an activity. Cancelling tells the signed-up volunteers by SMS
    (never at night, never to a number that opted out)."""
    now = now or timezone.now()
    if to not in ACTIVITY_ALLOWED.get(activity.status, set()):
        raise ApplicationError("invalid_transition", _("活动当前状态下不能执行该操作。"))
    if to == ActivityStatus.DONE and activity.starts_at > now:
        raise ApplicationError("not_started", _("活动尚未开始，不能结束。"))
    moved = Activity.objects.filter(pk=activity.pk, status=activity.status).update(status=to)
    if not moved:
        raise ApplicationError("invalid_transition", _("活动状态已被他人修改，请刷新后重试。"))
    previous, activity.status = activity.status, to
    if to == ActivityStatus.CANCELLED:
        when = timezone.localtime(activity.starts_at).strftime("%m-%d %H:%M")
        body = _("【民意】您报名的志愿活动“%(title)s”（%(when)s）已取消，感谢您的支持。") % {
            "title": activity.title,
            "when": when,
        }
        for signup in activity.signups.select_related("volunteer"):
            if signup.volunteer.mobile and activity.starts_at > now:
                sms_enqueue_unsolicited(
                    mobile=signup.volunteer.mobile,
                    body=body,
                    purpose=SmsPurpose.VOLUNTEER,
                    now=now,
                )
    # Cancelled: its check-ins go; done: those up to now (or its end) are all written.
    _patrol_checkins_sync(activity, now=now)
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=activity,
        detail={"from": previous, "to": to},
    )


@transaction.atomic
def signup_add(
    *,
    activity: Activity,
    volunteer: Volunteer,
    actor=None,
    source: str = VolunteerSource.STAFF,
    now: datetime | None = None,
) -> Signup:
    """Sign `volunteer` up for `activity` (报名). Citizens sign up only before it starts;
    staff may add someone later, to record who came."""
    now = now or timezone.now()
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.status != ActivityStatus.OPEN:
        raise ApplicationError("not_open", _("该活动已结束或已取消，不能报名。"))
    if source == VolunteerSource.SELF and activity.starts_at <= now:
        raise ApplicationError("started", _("该活动已开始，不能再报名。"))
    if volunteer.status != VolunteerStatus.ACTIVE or volunteer.unit_id != activity.unit_id:
        raise ApplicationError(
            "not_a_volunteer",
            _("该手机号尚未登记为本所志愿者（或已退出），请先报名成为志愿者。"),
            field="volunteer",
        )
    if Signup.objects.filter(activity=activity, volunteer=volunteer).exists():
        raise ApplicationError("already_signed_up", _("已报名该活动。"), field="volunteer")
    if activity.signups.count() >= activity.capacity:
        raise ApplicationError("full", _("报名人数已满。"), field="volunteer")
    signup = Signup.objects.create(
        activity=activity, volunteer=volunteer, source=source, created_at=now
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=activity,
        detail={"signup": volunteer.pk, "source": source},
    )
    return signup


def _hours(value, *, attended: bool, activity: Activity, signup_id: int) -> Decimal:
    field = f"hours_{signup_id}"
    if value in (None, ""):
        if not attended:
            return Decimal(0)
        # By default the activity's length, to the half hour.
        halves = Decimal(activity.duration_hours * 2).quantize(Decimal(1), ROUND_HALF_UP)
        return min(halves / 2, HOURS_MAX)
    try:
        hours = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApplicationError("invalid_hours", _("服务时长应为数字。"), field=field) from None
    limit = min(Decimal(math.ceil(activity.duration_hours * 2)) / 2, HOURS_MAX)
    if not hours.is_finite() or hours < 0 or hours > limit:
        raise ApplicationError(
            "invalid_hours",
            _("服务时长应在 0 到 %(max)s 小时之间（不超过活动时长）。") % {"max": limit},
            field=field,
        )
    if hours and not attended:
        raise ApplicationError(
            "hours_without_attendance", _("未到场的志愿者不能记录服务时长。"), field=field
        )
    return hours.quantize(Decimal("0.1"), ROUND_HALF_UP)


@transaction.atomic
def attendance_record(
    *, actor, activity: Activity, marks: dict[int, tuple[bool, object]], now=None
) -> int:
    """Record who came (到场) and their hours (服务时长): `marks` maps each sign-up's id to
    (attended, hours); hours left blank for someone who came are the activity's length. All or
    nothing. A patrol of a key area with anyone present leaves its check-ins (巡逻打卡) for
    patrol visibility. Returns the number present."""
    now = now or timezone.now()
    if activity.status == ActivityStatus.CANCELLED:
        raise ApplicationError("cancelled", _("活动已取消，不能记录到场。"))
    if activity.starts_at > now:
        raise ApplicationError("not_started", _("活动开始后才能记录到场和时长。"))
    signups = list(activity.signups.select_for_update().order_by("pk"))
    changed = []
    for signup in signups:
        attended, hours = marks.get(signup.pk, (False, None))
        signup.hours = _hours(hours, attended=attended, activity=activity, signup_id=signup.pk)
        signup.attended = attended
        signup.recorded_at, signup.recorded_by = now, actor
        changed.append(signup)
    Signup.objects.bulk_update(changed, ["attended", "hours", "recorded_at", "recorded_by"])
    present = sum(1 for s in changed if s.attended)
    _patrol_checkins_sync(activity, now=now)
    audit_record(
        action=AuditAction.CHANGE,
        actor=actor,
        obj=activity,
        detail={
            "attendance": present,
            "hours": str(sum((s.hours for s in changed), Decimal(0))),
        },
    )
    return present


def patrol_checkin_times(activity: Activity, *, now: datetime) -> list[datetime]:
    """One check-in every PATROL_CHECKIN_MINUTES from the start, up to min(now, end): never
    one for a time that has not come yet."""
    step = timedelta(minutes=PATROL_CHECKIN_MINUTES)
    times, moment = [], activity.starts_at
    while moment < activity.ends_at and moment <= now:
        times.append(moment)
        moment += step
    return times


def _patrol_checkins_sync(activity: Activity, *, now: datetime) -> None:
    """A patrol of a key area (重点路段/区域) that someone attended is a patrol unit's
    check-ins there, one every PATROL_CHECKIN_MINUTES through the activity up to `now` (unit
    "志愿者巡逻-<id>", source "volunteer"); otherwise it has none. The activity's check-ins
    are found by unit and source in any area (it may have moved), those no longer wanted are
    deleted, the missing ones written through the community's check-in service, then the
    passes of every (station, day) touched are recomputed so the patrol page counts them at
    once. Called again when attendance is recorded again, the activity is changed, ended or
    cancelled."""
    existing = PatrolCheckin.objects.filter(
        area__station_id=activity.unit_id,  # an activity's areas are its station's
        unit_code=activity.patrol_unit_code,
        source=PATROL_SOURCE,
    ).select_related("area__station")
    have = {(c.area_id, c.at): c for c in existing}
    area = activity.area
    counts = (
        activity.kind == ActivityKind.PATROL
        and area is not None
        and area.is_key
        and activity.status != ActivityStatus.CANCELLED
        and activity.signups.filter(attended=True).exists()
    )
    want = [(area, at) for at in patrol_checkin_times(activity, now=now)] if counts else []
    wanted = {(a.pk, at) for a, at in want}
    stale = [c for key, c in have.items() if key not in wanted]
    fresh = [(a, at) for a, at in want if (a.pk, at) not in have]
    if not stale and not fresh:
        return
    if stale:
        PatrolCheckin.objects.filter(pk__in=[c.pk for c in stale]).delete()
    if fresh:
        checkins_ingest(
            items=[
                {"area": a.code, "unit_code": activity.patrol_unit_code, "at": at}
                for a, at in fresh
            ],
            scope_unit=activity.unit,
            source=PATROL_SOURCE,
        )
    touched = {(c.area.station, timezone.localdate(c.at)) for c in stale}
    touched |= {(a.station, timezone.localdate(at)) for a, at in fresh}
    for station, day in sorted(touched, key=lambda pair: (pair[0].pk, pair[1])):
        passes_compute(station, day, now=now)

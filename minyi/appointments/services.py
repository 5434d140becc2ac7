"""Every write of mobile service appointments (移动办证): slots, a citizen's booking and
cancellation, staff confirmation, the day's route, the outcome, the day-before reminder, and
the service event a done visit becomes.

A place in a slot is taken by one conditional UPDATE (`booked < capacity`), which PostgreSQL
runs under the slot's row lock: two citizens booking the last place at once get one
appointment and one "已约满"."""

import secrets
from datetime import date, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.appointments.models import (
    APPOINTMENT_ALLOWED,
    HOLDING,
    Applicant,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    ServiceKind,
    ServiceSlot,
    VisitPlace,
)
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Lifecycle, lock_in_scope
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import (
    in_quiet_hours,
    quiet_hours_end,
    sms_enqueue,
    sms_enqueue_unsolicited,
)
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import BusinessCategory, BusinessType, CallbackTier
from minyi.perception.services.ingest import events_ingest

S = AppointmentStatus
SOURCE = "appointments"  # ServiceEvent.source of a done visit
BUSINESS_CODE = "mobile_id_service"
MAX_SLOTS_PER_DAY = 6
MAX_CAPACITY = 50
NAME_MAX, ADDRESS_MAX, NOTE_MAX, OUTCOME_MAX = 30, 200, 500, 500
MAX_OPEN_PER_MOBILE = 3  # requested or confirmed visits still to come, per citizen's mobile

APPOINTMENT = Lifecycle(
    model=Appointment,
    allowed=APPOINTMENT_ALLOWED,
    event_model=AppointmentEvent,
    event_fk="appointment",
    refused=_("预约当前状态为“%(status)s”，不能进行此操作。"),
    stale=_("预约状态已变化，请刷新后重试。"),
)


def _text(value, *, field: str, label: str, limit: int, required: bool = True) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ApplicationError("required", _("请填写%(label)s。") % {"label": label}, field=field)
    if len(text) > limit:
        raise ApplicationError(
            "too_long",
            _("%(label)s不能超过 %(n)d 个字。") % {"label": label, "n": limit},
            field=field,
        )
    return text


# --- Slots ---------------------------------------------------------------------------------


def station_get_public(code: str) -> OrgUnit:
    """An active police station by its code, or NotFound with the citizen's message."""
    station = OrgUnit.objects.filter(
        code=code, kind=UnitKind.POLICE_STATION, is_active=True
    ).first()
    if station is None:
        raise NotFound(_("未找到该派出所，请从列表中重新选择。"))
    return station


@transaction.atomic
def slots_create_week(
    *,
    actor,
    unit: OrgUnit,
    week_start: date,
    weekdays: list[int],
    periods: list[tuple[time, time]],
    capacity: int,
    note: str = "",
    now=None,
) -> tuple[int, int]:
    """Slots for `unit` on the chosen weekdays (0 = Monday) of the 7 days from `week_start`,
    one per period; existing slots (same start) are kept as they are. (created, skipped)."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.APPOINTMENT_HANDLE):
        raise PermissionDenied()
    if not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise NotFound()
    if unit.kind != UnitKind.POLICE_STATION:
        raise ApplicationError("not_a_station", _("只能为派出所设置办证时段。"), field="unit")
    if week_start < timezone.localdate(now):
        raise ApplicationError("week_in_past", _("起始日期不能早于今天。"), field="week_start")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ApplicationError(
            "bad_capacity",
            _("每个时段可预约数应为 1–%(n)d。") % {"n": MAX_CAPACITY},
            field="capacity",
        )
    if not periods:
        raise ApplicationError("no_period", _("请至少选择一个时段。"), field="periods")
    if not weekdays:
        raise ApplicationError("no_weekday", _("请至少选择一天。"), field="weekdays")
    days = [week_start + timedelta(days=i) for i in range(7)]
    days = [d for d in days if d.weekday() in set(weekdays)]
    existing = set(
        ServiceSlot.objects.filter(unit=unit, date__in=days).values_list("date", "start_time")
    )
    rows = [
        ServiceSlot(
            unit=unit,
            date=day,
            start_time=start,
            end_time=end,
            capacity=capacity,
            note=note[:100],
        )
        for day in days
        for start, end in periods[:MAX_SLOTS_PER_DAY]
        if (day, start) not in existing
    ]
    ServiceSlot.objects.bulk_create(rows)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=unit,
        detail={"appointment_slots": len(rows), "week_start": week_start.isoformat()},
    )
    return len(rows), len(days) * len(periods) - len(rows)


@transaction.atomic
def slot_close(*, actor, slot: ServiceSlot) -> ServiceSlot:
    """No more bookings in this slot; the appointments it holds stay."""
    current = lock_in_scope(
        ServiceSlot.objects,
        slot.pk,
        scope=scope_q(actor),
        allowed=has_perm(actor, Perm.APPOINTMENT_HANDLE),
    )
    ServiceSlot.objects.filter(pk=current.pk).update(is_open=False)
    audit_record(action=AuditAction.CHANGE, actor=actor, obj=current, detail={"is_open": False})
    current.refresh_from_db()
    return current


# --- Booking -------------------------------------------------------------------------------


def _new_number(now) -> str:
    return f"BZ{timezone.localtime(now):%y%m%d}{secrets.randbelow(10**6):06d}"


def _slot_for_booking(slot_id, *, station: OrgUnit | None, now) -> ServiceSlot:
    try:
        pk = int(slot_id)
    except (TypeError, ValueError):
        pk = None
    if pk is None:
        raise ApplicationError("slot_required", _("请选择预约时段。"), field="slot")
    slot = ServiceSlot.objects.filter(pk=pk, unit__is_active=True).select_related("unit").first()
    if slot is None or (station is not None and slot.unit_id != station.pk):
        raise ApplicationError(
            "unknown_slot", _("所选时段不存在，请重新选择。"), field="slot", status=404
        )
    if slot.starts_at() <= now:
        raise ApplicationError(
            "slot_past", _("所选时段已过，请选择今后的时段。"), field="slot", status=409
        )
    if not slot.is_open:
        raise ApplicationError(
            "slot_closed", _("所选时段已停止预约，请选择其他时段。"), field="slot", status=409
        )
    return slot


def _slot_full() -> ApplicationError:
    return ApplicationError(
        "slot_full", _("所选时段已约满，请选择其他时段。"), field="slot", status=409
    )


def _holding(mobile_hash: str):
    return Appointment.objects.filter(citizen_mobile_hash=mobile_hash, status__in=HOLDING)


def _lock_mobile(mobile_hash: str) -> None:
    """Lock the places this mobile holds (before the slot's row, the order a cancellation
    takes them in too): two bookings from one mobile then run one after the other."""
    list(_holding(mobile_hash).select_for_update().order_by("pk").values_list("pk", flat=True))


def _check_mobile_places(slot: ServiceSlot, mobile_hash: str, now) -> None:
    """One place per mobile in a slot, and at most MAX_OPEN_PER_MOBILE visits to come. Run
    after the slot's conditional UPDATE: its row lock makes a second booking of the same slot
    from the same mobile wait for the first, and see it (and _lock_mobile's lock does the same
    across slots for a mobile that holds a place already)."""
    holding = _holding(mobile_hash)
    if holding.filter(slot=slot).exists():
        raise ApplicationError(
            "already_booked",
            _("该手机号码已预约过这个时段，无需重复预约；如需更改请先查询并取消原预约。"),
            field="slot",
            status=409,
        )
    local = timezone.localtime(now)
    coming = holding.filter(
        Q(slot__date__gt=local.date())
        | Q(slot__date=local.date(), slot__start_time__gt=local.time())
    )
    if coming.count() >= MAX_OPEN_PER_MOBILE:
        raise ApplicationError(
            "too_many_open",
            _(
                "该手机号码已有 %(n)d 个待办理的预约，不能再预约；"
                "请等已有预约办理完成，或取消不需要的预约后再试。"
            )
            % {"n": MAX_OPEN_PER_MOBILE},
            status=409,
        )


def appointment_request(
    *,
    slot_id,
    mobile: str,
    name: str,
    address: str,
    applicant: str,
    service: str,
    place: str,
    note: str = "",
    station: OrgUnit | None = None,
    now=None,
) -> Appointment:
    """A citizen's booking from a proven `mobile`. Refused with a field and a Chinese message:
    a slot in the past, closed, full, or not of `station`; missing name or address; a second
    place in the same slot, or more than MAX_OPEN_PER_MOBILE visits to come, for one mobile."""
    now = now or timezone.now()
    mobile = normalize_mobile(mobile)
    name = _text(name, field="name", label=_("姓名"), limit=NAME_MAX)
    address = _text(address, field="address", label=_("地址"), limit=ADDRESS_MAX)
    note = _text(note, field="note", label=_("补充说明"), limit=NOTE_MAX, required=False)
    for value, choices, field in (
        (applicant, Applicant, "applicant"),
        (service, ServiceKind, "service"),
        (place, VisitPlace, "place"),
    ):
        if value not in choices.values:
            raise ApplicationError("invalid_choice", _("请从列表中选择。"), field=field)
    slot = _slot_for_booking(slot_id, station=station, now=now)
    mobile_hash = lookup_hash("mobile", mobile)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                _lock_mobile(mobile_hash)
                taken = ServiceSlot.objects.filter(
                    pk=slot.pk, is_open=True, booked__lt=F("capacity")
                ).update(booked=F("booked") + 1)
                if not taken:
                    _check_mobile_places(slot, mobile_hash, now)  # "已预约过" before "已约满"
                    raise _slot_full()
                _check_mobile_places(slot, mobile_hash, now)
                appointment = Appointment.objects.create(
                    number=_new_number(now),
                    slot=slot,
                    unit_id=slot.unit_id,
                    citizen_name=name,
                    citizen_mobile=mobile,
                    citizen_mobile_hash=mobile_hash,
                    address=address,
                    applicant=applicant,
                    service=service,
                    place=place,
                    note=note,
                    created_at=now,
                )
                APPOINTMENT.record(appointment, actor=None, to_status=S.REQUESTED, now=now)
                return appointment
        except IntegrityError:  # a number drawn twice: draw again
            continue
    raise ApplicationError("busy", _("系统繁忙，请稍后再试。"), status=503)


def appointment_find_for_citizen(*, number: str, mobile: str) -> Appointment:
    """The appointment `number` booked from `mobile` (proven), else NotFound: a wrong number
    and someone else's number read the same."""
    appointment = (
        Appointment.objects.filter(
            number=(number or "").strip().upper(),
            citizen_mobile_hash=lookup_hash("mobile", normalize_mobile(mobile)),
        )
        .select_related("slot", "unit")
        .first()
    )
    if appointment is None:
        raise NotFound(_("未找到该预约：请核对预约编号和手机号码。"))
    return appointment


def _release_place(appointment: Appointment) -> None:
    ServiceSlot.objects.filter(pk=appointment.slot_id, booked__gt=0).update(booked=F("booked") - 1)


@transaction.atomic
def appointment_cancel_by_citizen(
    *, number: str, mobile: str, reason: str = "", now=None
) -> Appointment:
    """The citizen's own cancellation, while requested or confirmed and before the visit."""
    now = now or timezone.now()
    appointment = appointment_find_for_citizen(number=number, mobile=mobile)
    if appointment.status in HOLDING and appointment.slot.starts_at() <= now:
        raise ApplicationError(
            "visit_started", _("预约时段已开始，如需取消请致电派出所。"), status=409
        )
    reason = _text(reason, field="reason", label=_("取消原因"), limit=200, required=False)
    APPOINTMENT.move(
        appointment,
        actor=None,
        to=S.CANCELLED,
        note=_("群众取消") + (f"：{reason}" if reason else ""),
        now=now,
        closed_at=now,
    )
    _release_place(appointment)
    return appointment


# --- Staff ---------------------------------------------------------------------------------


def _locked(actor, appointment: Appointment) -> Appointment:
    return lock_in_scope(
        Appointment.objects,
        appointment.pk,
        scope=scope_q(actor),
        allowed=has_perm(actor, Perm.APPOINTMENT_HANDLE),
    )


def public_link() -> str:
    return settings.PUBLIC_BASE_URL + reverse("appointments_public:lookup")


def _sms_fields(appointment: Appointment) -> dict:
    slot = appointment.slot
    return {
        "signature": settings.SMS_SIGNATURE,
        "date": f"{slot.date.month}月{slot.date.day}日",
        "period": slot.period,
        "service": appointment.get_service_display(),
        "unit": appointment.unit.short_name or appointment.unit.name,
        "number": appointment.number,
        "link": public_link(),
    }


CONFIRM_TEMPLATE = (
    "{signature}您预约的{date} {period}上门办理{service}已确认，{unit}民警将按时到达，"
    "预约编号{number}。如需取消请访问 {link}"
)
CANCEL_TEMPLATE = (
    "{signature}很抱歉，您预约的{date} {period}上门办理{service}已被{unit}取消，原因：{reason}。"
    "预约编号{number}，如仍需办理请重新预约：{link}"
)
REMINDER_TEMPLATE = (
    "{signature}温馨提醒：明天（{date}）{period}{unit}民警将上门为您办理{service}，"
    "预约编号{number}。如需取消请访问 {link}"
)


@transaction.atomic
def appointment_confirm(*, actor, appointment: Appointment, now=None) -> Appointment:
    """Confirm a request, before its slot starts; the citizen's SMS goes in the outbox in the
    same transaction (the citizen asked for it, so it is sent even to an opted-out number, but
    never at night)."""
    now = now or timezone.now()
    current = _locked(actor, appointment)
    APPOINTMENT.check(current, S.CONFIRMED)
    if current.slot.starts_at() <= now:
        raise ApplicationError(
            "visit_started",
            _("预约时段已开始，不能再确认；请与群众联系后取消预约，或请其另约时段。"),
            status=409,
        )
    APPOINTMENT.move(
        current, actor=actor, to=S.CONFIRMED, now=now, confirmed_by=actor, confirmed_at=now
    )
    sms_enqueue(
        mobile=current.citizen_mobile,
        body=CONFIRM_TEMPLATE.format(**_sms_fields(current)),
        purpose=SmsPurpose.APPOINTMENT,
        not_before=quiet_hours_end(now),
    )
    return current


@transaction.atomic
def appointment_cancel(*, actor, appointment: Appointment, reason: str, now=None):
    """The station cancels (a reason required); the citizen's SMS with the reason goes in the
    outbox in the same transaction, as a confirmation does (never at night)."""
    now = now or timezone.now()
    current = _locked(actor, appointment)
    reason = _text(reason, field="reason", label=_("取消原因"), limit=200)
    APPOINTMENT.move(
        current,
        actor=actor,
        to=S.CANCELLED,
        note=reason,
        now=now,
        closed_by=actor,
        closed_at=now,
        outcome=reason,
    )
    _release_place(current)
    sms_enqueue(
        mobile=current.citizen_mobile,
        body=CANCEL_TEMPLATE.format(**_sms_fields(current), reason=reason),
        purpose=SmsPurpose.APPOINTMENT,
        not_before=quiet_hours_end(now),
    )
    return current


def _check_visit_time(current: Appointment, to: str, now) -> None:
    """An outcome (done, not done) is recorded once the slot has started, never before."""
    APPOINTMENT.check(current, to)
    if current.slot.starts_at() > now:
        raise ApplicationError(
            "visit_not_started",
            _("预约时段尚未开始，不能记录办理结果；请在上门办理后再记录。"),
            status=409,
        )


@transaction.atomic
def appointment_no_show(*, actor, appointment: Appointment, outcome: str, now=None):
    """The team went but could not do it (nobody home, documents missing); not before the
    slot starts."""
    now = now or timezone.now()
    current = _locked(actor, appointment)
    _check_visit_time(current, S.NO_SHOW, now)
    outcome = _text(outcome, field="outcome", label=_("未办成原因"), limit=OUTCOME_MAX)
    APPOINTMENT.move(
        current,
        actor=actor,
        to=S.NO_SHOW,
        note=outcome,
        now=now,
        closed_by=actor,
        closed_at=now,
        outcome=outcome,
    )
    return current


def business_type() -> BusinessType:
    """The business type of a mobile visit (移动办证): a window service, called back by the
    station's centre like the window's own contacts."""
    return BusinessType.objects.get_or_create(
        code=BUSINESS_CODE,
        defaults={
            "name": "移动办证",
            "category": BusinessCategory.WINDOW,
            "callback_tier": CallbackTier.STATION,
            "rectification_days": 3,
        },
    )[0]


@transaction.atomic
def appointment_complete(*, actor, appointment: Appointment, outcome: str = "", now=None):
    """Done (not before the slot starts): the visit becomes a service event (source
    "appointments", external id the appointment's number) that the survey sweep decides like
    any other contact."""
    now = now or timezone.now()
    current = _locked(actor, appointment)
    outcome = _text(
        outcome, field="outcome", label=_("办理结果"), limit=OUTCOME_MAX, required=False
    )
    _check_visit_time(current, S.DONE, now)
    result = events_ingest(
        items=[
            {
                "source": SOURCE,
                "external_id": current.number,
                "business_type": business_type().code,
                "unit": current.unit.code,
                "citizen_mobile": current.citizen_mobile,
                # Never "in the future" to ingest, whatever clock the caller passes.
                "occurred_at": min(now, timezone.now()),
            }
        ],
        scope_unit=None,
    )[0]
    if result.id is None:
        raise ApplicationError(result.code or "event_failed", result.message or _("记录失败。"))
    return APPOINTMENT.move(
        current,
        actor=actor,
        to=S.DONE,
        note=outcome,
        now=now,
        closed_by=actor,
        closed_at=now,
        outcome=outcome,
        service_event_id=result.id,
    )


@transaction.atomic
def route_order_set(*, actor, unit: OrgUnit, day: date, order: dict[int, int]) -> int:
    """The order of the day's stops: {appointment id: position}. Ids outside the actor's
    scope, the unit or the day are ignored."""
    if not has_perm(actor, Perm.APPOINTMENT_HANDLE):
        raise PermissionDenied()
    rows = Appointment.objects.filter(
        scope_q(actor), unit=unit, slot__date=day, pk__in=list(order)
    ).values_list("pk", flat=True)
    changed = 0
    for pk in rows:
        changed += Appointment.objects.filter(pk=pk).update(route_order=order[pk])
    if changed:
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=unit,
            detail={"appointment_route": day.isoformat(), "stops": changed},
        )
    return changed


def appointment_reveal(*, actor, appointment: Appointment, request=None) -> dict:
    """The citizen's mobile, address and own words (the note, a cancellation's reason: the
    notes of events without a staff actor, by event id) in full, for the team that visits.
    Every reveal is audited, refusals too."""
    if not has_perm(actor, Perm.APPOINTMENT_HANDLE):
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            obj=appointment,
            outcome=AuditOutcome.DENIED,
            detail={"field": "appointment_contact"},
        )
        raise PermissionDenied()
    current = Appointment.objects.filter(scope_q(actor), pk=appointment.pk).first()
    if current is None:
        raise NotFound()
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=current,
        detail={"field": "appointment_contact"},
    )
    return {
        "mobile": current.citizen_mobile,
        "address": current.address,
        "note": current.note,
        "citizen_notes": [
            (event.pk, event.note)
            for event in current.events.filter(actor__isnull=True)
            if event.note
        ],
    }


def route_reveal(*, actor, unit: OrgUnit, day: date, count: int, request=None) -> None:
    """The audit row of a printed route list with addresses in full."""
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=unit,
        detail={"field": "appointment_route", "day": day.isoformat(), "stops": count},
    )


# --- The day-before reminder ---------------------------------------------------------------


def reminders_send_due(*, now=None, limit: int = 500) -> int:
    """The SMS reminder for tomorrow's confirmed visits, once per appointment: the row is
    marked reminded by a conditional UPDATE in the transaction that writes the message, so
    two workers never both send it. Never to an opted-out number, and nothing at all in the
    quiet hours: from 21:00 to midnight "tomorrow" is already the visit's day by the time the
    outbox would send it at 08:00, so the day's reminders are written from 08:00 on."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return 0
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    ids = list(
        Appointment.objects.filter(
            status=S.CONFIRMED, reminded_at__isnull=True, slot__date=tomorrow
        ).values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in ids:
        with transaction.atomic():
            if not Appointment.objects.filter(
                pk=pk, status=S.CONFIRMED, reminded_at__isnull=True
            ).update(reminded_at=now):
                continue
            appointment = Appointment.objects.select_related("slot", "unit").get(pk=pk)
            sms_enqueue_unsolicited(
                mobile=appointment.citizen_mobile,
                body=REMINDER_TEMPLATE.format(**_sms_fields(appointment)),
                purpose=SmsPurpose.APPOINTMENT,
                now=now,
            )
            sent += 1
    return sent

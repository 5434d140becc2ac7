"""Demo: mobile service appointments (移动办证, issue 17 item 4) in the demo city.

In a few stations (those with a leader's demo account first): morning and afternoon slots on
the working days of the past week and the coming two weeks; citizens' requests made by the real
services, in every state. Past visits are mostly done (each a service event of business type
移动办证, surveyed by the real sweep run on the visit's afternoon, and most surveys answered
that evening), a few not done (nobody home) or cancelled; the coming ones are confirmed (today's
and tomorrow's, so the route list and the day-before reminder have work), requested (to
confirm) or cancelled by the citizen.

Every time is relative to `now`, so the demo reads right at any hour. `load` is idempotent: a
second call changes nothing.
"""

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from minyi.appointments.models import (
    Applicant,
    Appointment,
    AppointmentStatus,
    ServiceKind,
    ServiceSlot,
    VisitPlace,
)
from minyi.appointments.services import (
    appointment_cancel,
    appointment_cancel_by_citizen,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_request,
)
from minyi.demo.city import closest_account
from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import new_mobile
from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.models import OrgUnit, User
from minyi.perception.models import Survey, SurveyStatus
from minyi.perception.services.replies import survey_answer
from minyi.perception.services.surveys import surveys_dispatch_due, surveys_schedule_pending

DEMO_NOTE = "演示时段"  # every demo slot carries it: how `load` knows it ran
STATIONS = 4
PAST_DAYS, FUTURE_DAYS = 7, 14
PERIODS = ((time(9), time(11, 30)), (time(14), time(17)))
CAPACITY = 3
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
STREETS = ("仓桥直街", "解放北路", "环城西路", "胜利东路", "中兴中路", "延安路", "鲁迅中路")
OUTCOMES = ("已上门采集照片和指纹，证件办理中。", "已现场受理户籍迁移申请。", "已办结居住证登记。")
NO_SHOWS = ("上门时家中无人，电话未接通。", "材料不齐，已告知补齐后重新预约。")
RATINGS = (1, 1, 1, 2, 2, 3, 4)


def demo_exists() -> bool:
    return ServiceSlot.objects.filter(note=DEMO_NOTE).exists()


def _at(day: date, moment: time, minutes: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment)) + timedelta(minutes=minutes)


def _stations_and_actors() -> list[tuple[OrgUnit, User]]:
    handlers = list(
        User.objects.filter(
            role__in=(Role.UNIT_LEADER, Role.SUPERVISOR), is_active=True, unit__isnull=False
        ).select_related("unit")
    )
    stations = OrgUnit.objects.filter(kind=UnitKind.POLICE_STATION, is_active=True)
    led = {u.unit_id for u in handlers if u.role == Role.UNIT_LEADER}
    ordered = sorted(stations, key=lambda s: (s.pk not in led, s.path))
    pairs = [(s, closest_account(handlers, s)) for s in ordered]
    return [(s, actor) for s, actor in pairs if actor is not None][:STATIONS]


def _slots(station: OrgUnit, today: date) -> list[ServiceSlot]:
    days = [today + timedelta(days=n) for n in range(-PAST_DAYS, FUTURE_DAYS + 1)]
    rows = [
        ServiceSlot(
            unit=station,
            date=day,
            start_time=start,
            end_time=end,
            capacity=CAPACITY,
            note=DEMO_NOTE,
        )
        for day in days
        if day.weekday() < 5
        for start, end in PERIODS
    ]
    return ServiceSlot.objects.bulk_create(rows)


def _request(rng: random.Random, slot: ServiceSlot, now: datetime) -> Appointment:
    return appointment_request(
        slot_id=slot.pk,
        mobile=new_mobile(rng),
        name=rng.choice(SURNAMES) + rng.choice(("阿婆", "大爷", "女士", "先生")),
        address=f"越城区{rng.choice(STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 20)}幢",
        applicant=rng.choice(list(Applicant.values) + [Applicant.ELDERLY] * 3),
        service=rng.choice(list(ServiceKind.values) + [ServiceKind.ID_CARD] * 2),
        place=rng.choice((VisitPlace.HOME, VisitPlace.HOME, VisitPlace.ONSITE)),
        note=rng.choice(("", "行动不便", "需要拍照", "公司员工集中办理")),
        now=now,
    )


def _past_day(rng, slots, actor, counts) -> None:
    """A day gone by: booked two days before, confirmed the day before, visited, surveyed."""
    day = slots[0].date
    for slot in slots:
        for _n in range(rng.randint(1, CAPACITY)):
            appointment = _request(rng, slot, _at(day - timedelta(days=2), time(10)))
            appointment_confirm(
                actor=actor, appointment=appointment, now=_at(day - timedelta(days=1), time(9, 30))
            )
            visit = _at(day, slot.end_time)
            fate = rng.random()
            if fate < 0.8:
                appointment_complete(
                    actor=actor, appointment=appointment, outcome=rng.choice(OUTCOMES), now=visit
                )
            elif fate < 0.9:
                appointment_no_show(
                    actor=actor, appointment=appointment, outcome=rng.choice(NO_SHOWS), now=visit
                )
            else:
                appointment_cancel(
                    actor=actor,
                    appointment=appointment,
                    reason="群众来电取消，已自行到窗口办理。",
                    now=visit,
                )
            counts[appointment.status] = counts.get(appointment.status, 0) + 1


def _survey_day(rng, day: date) -> None:
    """The perception sweep of that afternoon, and the citizens' answers that evening."""
    evening = _at(day, time(18))
    surveys_schedule_pending(now=evening)
    surveys_dispatch_due(now=evening)
    numbers = Appointment.objects.filter(slot__date=day, slot__note=DEMO_NOTE).values("number")
    sent = Survey.objects.filter(
        status=SurveyStatus.SENT, event__source="appointments", event__external_id__in=numbers
    ).select_related("event")
    for survey in sent:
        if rng.random() < 0.75:
            survey_answer(
                survey=survey,
                rating=rng.choice(RATINGS),
                comment="",
                via="sms",
                now=evening + timedelta(minutes=rng.randint(5, 120)),
            )


def _deliver(after_id: int, at: datetime) -> int:
    """The console gateway delivers, at `at`, what a past day put in the outbox (its
    confirmations and surveys): the worker must not text them again today. Returns the last
    id seen."""
    last = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0
    OutboundSms.objects.filter(id__gt=after_id, id__lte=last, status=OutboundStatus.QUEUED).update(
        status=OutboundStatus.DELIVERED,
        backend="console",
        attempts=1,
        created_at=at,
        not_before=at,
        claimed_at=at,
        sent_at=at,
        delivered_at=at,
    )
    return last


def _coming_day(rng, slots, actor, now, counts) -> None:
    """A day to come: booked since yesterday; today's and tomorrow's confirmed."""
    today = timezone.localdate(now)
    for slot in slots:
        if slot.starts_at() <= now:
            continue
        for _n in range(rng.randint(0, CAPACITY)):
            appointment = _request(rng, slot, now - timedelta(hours=rng.randint(1, 20)))
            near = slot.date <= today + timedelta(days=1)
            if near or rng.random() < 0.4:
                appointment_confirm(actor=actor, appointment=appointment, now=now)
            elif rng.random() < 0.15:
                appointment = appointment_cancel_by_citizen(
                    number=appointment.number,
                    mobile=appointment.citizen_mobile,
                    reason="时间有变",
                    now=now,
                )
            counts[appointment.status] = counts.get(appointment.status, 0) + 1


def load(now=None, *, seed: int = DEFAULT_SEED) -> dict:
    """Build the appointments demo once; returns how many appointments of each status (empty
    when it exists already or the demo city has no station with a leader or supervisor)."""
    now = now or timezone.now()
    if demo_exists():
        return {}
    pairs = _stations_and_actors()
    if not pairs:
        return {}
    rng = random.Random(f"{seed}:appointments")  # noqa: S311 - synthetic data, not secrets
    today = timezone.localdate(now)
    counts: dict[str, int] = {}
    with transaction.atomic():
        by_day: dict[date, list[tuple[list[ServiceSlot], User]]] = {}
        for station, actor in pairs:
            for slot in _slots(station, today):
                days = by_day.setdefault(slot.date, [])
                if not days or days[-1][1] is not actor or days[-1][0][0].unit_id != station.pk:
                    days.append(([], actor))
                days[-1][0].append(slot)
        sms_seen = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0
        for day in sorted(by_day):
            for slots, actor in by_day[day]:
                if day < today:
                    _past_day(rng, slots, actor, counts)
                else:
                    _coming_day(rng, slots, actor, now, counts)
            if day < today:
                _survey_day(rng, day)
                sms_seen = _deliver(sms_seen, _at(day, time(18)))
    return {str(AppointmentStatus(k).label): v for k, v in counts.items()}

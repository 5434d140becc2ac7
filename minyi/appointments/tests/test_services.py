"""Booking rules, confirmation and reminder SMS, the outcome and the survey that follows it,
and scoping of mobile service appointments (移动办证)."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.appointments.selectors import (
    appointment_list_visible_to,
    route_stops,
    slot_list_visible_to,
    slots_open_for,
)
from minyi.appointments.services import (
    BUSINESS_CODE,
    SOURCE,
    appointment_cancel,
    appointment_cancel_by_citizen,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reveal,
    reminders_send_due,
    route_order_set,
    slots_create_week,
)
from minyi.appointments.tests.factories import MOBILE, at, book, in_days, make_slot
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.orgs.choices import Role
from minyi.perception.models import ServiceEvent, Survey, SurveyDecision, SurveyStatus
from minyi.perception.services.surveys import surveys_dispatch_due, surveys_schedule_pending

S = AppointmentStatus
pytestmark = pytest.mark.django_db


def _leader(world, key="a2"):
    return world.user(key, Role.UNIT_LEADER)


def _sms(purpose=SmsPurpose.APPOINTMENT):
    return OutboundSms.objects.filter(purpose=purpose, to_mobile_hash=lookup_hash("mobile", MOBILE))


# --- Booking ---------------------------------------------------------------------------------


def test_a_booking_takes_a_place_and_keeps_the_citizens_data_encrypted(world):
    slot = make_slot(world.station_a2, in_days(3))
    appointment = book(slot)
    slot.refresh_from_db()
    assert slot.booked == 1 and appointment.status == S.REQUESTED
    assert appointment.number.startswith("BZ") and appointment.unit == world.station_a2
    assert appointment.citizen_mobile_hash == lookup_hash("mobile", MOBILE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM appointments_appointment")
        assert "仓桥直街" not in cursor.fetchone()[0]  # ciphertext at rest


def test_a_slot_in_the_past_is_refused(world):
    day = in_days(2)
    slot = make_slot(world.station_a2, day, start=time(9))
    with pytest.raises(ApplicationError) as exc:
        book(slot, now=at(day, 9, 1))
    assert exc.value.code == "slot_past" and exc.value.field == "slot"
    assert "已过" in str(exc.value.message)
    assert not Appointment.objects.exists()
    assert slots_open_for(world.station_a2, now=at(day, 9, 1)) == []


def test_a_full_slot_is_refused_and_nothing_is_kept(world):
    slot = make_slot(world.station_a2, in_days(3), capacity=1)
    book(slot, mobile="13900000001")
    with pytest.raises(ApplicationError) as exc:
        book(slot)
    assert exc.value.code == "slot_full" and "已约满" in str(exc.value.message)
    assert Appointment.objects.count() == 1
    assert ServiceSlot.objects.get(pk=slot.pk).booked == 1


def test_another_stations_slot_or_an_unknown_one_is_refused(world):
    from minyi.appointments.services import appointment_request

    slot = make_slot(world.station_a1, in_days(3))
    for slot_id, station in ((slot.pk, world.station_a2), (999999, None), ("x", None)):
        with pytest.raises(ApplicationError) as exc:
            appointment_request(
                slot_id=slot_id,
                mobile=MOBILE,
                name="王",
                address="某路1号",
                applicant="elderly",
                service="id_card",
                place="home",
                station=station,
                now=at(in_days(1)),
            )
        assert exc.value.field == "slot"


def test_a_cancellation_gives_the_place_back(world):
    slot = make_slot(world.station_a2, in_days(3), capacity=1)
    appointment = book(slot)
    appointment_cancel_by_citizen(number=appointment.number, mobile=MOBILE, reason="已自行办理")
    assert ServiceSlot.objects.get(pk=slot.pk).booked == 0
    assert Appointment.objects.get(pk=appointment.pk).status == S.CANCELLED
    book(slot, mobile="13900000002")  # the place is free again


def test_a_citizen_finds_only_their_own_appointment(world):
    appointment = book(make_slot(world.station_a2, in_days(3)))
    with pytest.raises(NotFound):
        appointment_cancel_by_citizen(number=appointment.number, mobile="13900000009")


# --- Staff -----------------------------------------------------------------------------------


def test_a_week_of_slots_is_made_once(world):
    leader = _leader(world)
    monday = in_days(7 - timezone.localdate().weekday())
    periods = [(time(9), time(11, 30)), (time(14), time(17))]
    made = slots_create_week(
        actor=leader,
        unit=world.station_a2,
        week_start=monday,
        weekdays=[0, 1, 2, 3, 4],
        periods=periods,
        capacity=3,
    )
    assert made == (10, 0)
    again = slots_create_week(
        actor=leader,
        unit=world.station_a2,
        week_start=monday,
        weekdays=[0, 5],
        periods=periods,
        capacity=3,
    )
    assert again == (2, 2)  # Monday's two exist; Saturday's are new
    with pytest.raises(NotFound):
        slots_create_week(
            actor=_leader(world, "a1"),
            unit=world.station_a2,
            week_start=monday,
            weekdays=[0],
            periods=periods,
            capacity=3,
        )


def test_confirming_queues_the_sms_never_at_night(world):
    day = in_days(3)
    appointment = book(make_slot(world.station_a2, day))
    night = at(day - timedelta(days=2), 22)
    appointment_confirm(actor=_leader(world), appointment=appointment, now=night)
    sms = _sms().get()
    assert appointment.number in sms.body and "已确认" in sms.body
    assert timezone.localtime(sms.not_before).hour == 8  # the next morning
    assert sms.not_before > night
    current = Appointment.objects.get(pk=appointment.pk)
    assert current.status == S.CONFIRMED and current.confirmed_by == _leader(world)
    with pytest.raises(ApplicationError):  # twice is refused, no second SMS
        appointment_confirm(actor=_leader(world), appointment=current, now=night)
    assert _sms().count() == 1


def test_the_day_before_reminder_is_sent_once(world):
    day = in_days(3)
    appointment = book(make_slot(world.station_a2, day))
    appointment_confirm(
        actor=_leader(world), appointment=appointment, now=at(day - timedelta(days=2))
    )
    assert reminders_send_due(now=at(day - timedelta(days=2), 11)) == 0  # not yet
    assert reminders_send_due(now=at(day - timedelta(days=1), 10)) == 1
    assert reminders_send_due(now=at(day - timedelta(days=1), 16)) == 0
    bodies = list(_sms().values_list("body", flat=True))
    assert len(bodies) == 2 and sum("温馨提醒" in b for b in bodies) == 1


def test_a_visit_done_becomes_a_service_event_and_is_surveyed(world, daytime):
    day = in_days(2)
    appointment = book(make_slot(world.station_a2, day))
    leader = _leader(world)
    appointment_confirm(actor=leader, appointment=appointment)
    # When the team records it done
    done = appointment_complete(
        actor=leader, appointment=appointment, outcome="已采集照片指纹", now=at(day, 10)
    )
    # Then the visit is a service event of the station, pending its survey decision
    event = ServiceEvent.objects.get(source=SOURCE, external_id=appointment.number)
    assert done.status == S.DONE and done.service_event == event
    assert event.unit == world.station_a2 and event.business_type.code == BUSINESS_CODE
    assert event.business_type.name == "移动办证"
    assert event.citizen_mobile_hash == lookup_hash("mobile", MOBILE)
    assert event.survey_decision == SurveyDecision.PENDING
    # And the usual sweep asks the satisfaction question
    later = timezone.now() + timedelta(hours=2)
    surveys_schedule_pending(now=later)
    survey = Survey.objects.get(event=event)
    assert surveys_dispatch_due(now=later) == 1
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.SENT
    assert _sms(SmsPurpose.SURVEY).filter(survey=survey).exists()


def test_no_show_and_cancel_need_a_reason(world):
    leader = _leader(world)
    day = in_days(2)
    appointment = book(make_slot(world.station_a2, day))
    appointment_confirm(actor=leader, appointment=appointment, now=at(day - timedelta(days=1)))
    visit = at(day, 11)
    with pytest.raises(ApplicationError) as exc:
        appointment_no_show(actor=leader, appointment=appointment, outcome=" ", now=visit)
    assert exc.value.field == "outcome"
    appointment_no_show(
        actor=leader, appointment=appointment, outcome="家中无人，电话未接", now=visit
    )
    assert not ServiceEvent.objects.exists()
    with pytest.raises(ApplicationError):
        appointment_complete(actor=leader, appointment=appointment, now=visit)


# --- Scope -----------------------------------------------------------------------------------


def test_a_sibling_station_sees_and_touches_nothing(world):
    day = in_days(2)
    slot = make_slot(world.station_a2, day)
    appointment = book(slot)
    sibling = _leader(world, "a1")
    assert not appointment_list_visible_to(sibling).exists()
    assert not slot_list_visible_to(sibling, since=day).exists()
    assert route_stops(sibling, world.station_a2, day) == []
    for call in (appointment_confirm, appointment_reveal):
        with pytest.raises(NotFound):
            call(actor=sibling, appointment=appointment)
    assert appointment_list_visible_to(world.user("a", Role.SUPERVISOR)).exists()


def test_a_reveal_is_audited_and_viewers_are_refused(world):
    appointment = book(make_slot(world.station_a2, in_days(2)))
    contact = appointment_reveal(actor=_leader(world), appointment=appointment)
    assert contact["mobile"] == MOBILE
    with pytest.raises(PermissionDenied):
        appointment_reveal(actor=world.user("a2", Role.ADMIN), appointment=appointment)
    outcomes = AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).values_list(
        "outcome", flat=True
    )
    assert sorted(outcomes) == ["denied", "success"]


def test_the_route_is_in_the_order_staff_set(world):
    day = in_days(2)
    slot = make_slot(world.station_a2, day, capacity=3)
    leader = _leader(world)
    first, second = book(slot, mobile="13900000011"), book(slot, mobile="13900000012")
    for a in (first, second):
        appointment_confirm(actor=leader, appointment=a)
    route_order_set(actor=leader, unit=world.station_a2, day=day, order={second.pk: 1, first.pk: 2})
    assert [a.pk for a in route_stops(leader, world.station_a2, day)] == [second.pk, first.pk]


# --- Review fixes: the reminder's day, staff acting at the right time, one mobile's places ---


def test_the_reminder_never_arrives_on_the_visits_day(world):
    day = in_days(3)
    appointment = book(make_slot(world.station_a2, day))
    appointment_confirm(
        actor=_leader(world), appointment=appointment, now=at(day - timedelta(days=2))
    )
    # At 22:30 the day before, "tomorrow" is the visit's day by the time SMS may go out
    assert reminders_send_due(now=at(day - timedelta(days=1), 22, 30)) == 0
    assert reminders_send_due(now=at(day - timedelta(days=2), 22, 30)) == 0
    assert reminders_send_due(now=at(day - timedelta(days=1), 3)) == 0
    assert not _sms().filter(body__contains="温馨提醒").exists()
    assert Appointment.objects.get(pk=appointment.pk).reminded_at is None
    # From 08:00 the day before it goes, the same day
    assert reminders_send_due(now=at(day - timedelta(days=1), 8)) == 1
    reminder = _sms().get(body__contains="温馨提醒")
    assert timezone.localdate(reminder.not_before) == day - timedelta(days=1)


def test_a_slot_that_has_started_cannot_be_confirmed(world):
    day = in_days(3)
    appointment = book(make_slot(world.station_a2, day, start=time(9)))
    for moment in (at(day, 9), at(day, 15), at(day + timedelta(days=1), 10)):
        with pytest.raises(ApplicationError) as exc:
            appointment_confirm(actor=_leader(world), appointment=appointment, now=moment)
        assert exc.value.code == "visit_started" and "已开始" in str(exc.value.message)
    assert Appointment.objects.get(pk=appointment.pk).status == S.REQUESTED
    assert not _sms().exists()
    appointment_confirm(actor=_leader(world), appointment=appointment, now=at(day, 8, 59))


def test_an_outcome_is_refused_before_the_slot_starts(world):
    day = in_days(3)
    leader = _leader(world)
    appointment = book(make_slot(world.station_a2, day, start=time(14), end=time(17)))
    appointment_confirm(actor=leader, appointment=appointment, now=at(day, 9))
    for record, text in ((appointment_complete, "已办结"), (appointment_no_show, "家中无人")):
        with pytest.raises(ApplicationError) as exc:
            record(actor=leader, appointment=appointment, outcome=text, now=at(day, 13, 59))
        assert exc.value.code == "visit_not_started" and "尚未开始" in str(exc.value.message)
    assert Appointment.objects.get(pk=appointment.pk).status == S.CONFIRMED
    assert not ServiceEvent.objects.exists()
    done = appointment_complete(actor=leader, appointment=appointment, now=at(day, 14))
    assert done.status == S.DONE


def test_a_staff_cancellation_texts_the_citizen_with_the_reason(world):
    day = in_days(3)
    leader = _leader(world)
    appointment = book(make_slot(world.station_a2, day))
    appointment_confirm(actor=leader, appointment=appointment, now=at(day - timedelta(days=2)))
    night = at(day - timedelta(days=1), 22)
    with pytest.raises(ApplicationError):  # no reason: nothing changes, nothing is sent
        appointment_cancel(actor=leader, appointment=appointment, reason=" ", now=night)
    assert not _sms().filter(body__contains="很抱歉").exists()
    appointment_cancel(
        actor=leader, appointment=appointment, reason="民警临时执行任务，请改约", now=night
    )
    sms = _sms().get(body__contains="很抱歉")
    assert "民警临时执行任务，请改约" in sms.body and appointment.number in sms.body
    assert sms.purpose == SmsPurpose.APPOINTMENT
    assert sms.not_before > night and timezone.localtime(sms.not_before).hour == 8
    assert Appointment.objects.get(pk=appointment.pk).status == S.CANCELLED


def test_one_mobile_holds_one_place_per_slot(world):
    slot = make_slot(world.station_a2, in_days(3), capacity=3)
    book(slot)
    with pytest.raises(ApplicationError) as exc:
        book(slot)
    assert exc.value.code == "already_booked" and exc.value.field == "slot"
    assert "已预约过这个时段" in str(exc.value.message)
    assert ServiceSlot.objects.get(pk=slot.pk).booked == 1
    assert Appointment.objects.count() == 1
    full = make_slot(world.station_a2, in_days(4), capacity=1)
    book(full)
    with pytest.raises(ApplicationError) as exc:  # told so, not "已约满"
        book(full)
    assert exc.value.code == "already_booked"


def test_one_mobile_holds_at_most_three_visits_to_come(world):
    slots = [make_slot(world.station_a2, in_days(n)) for n in (2, 3, 4, 5)]
    booked_at = at(in_days(1))
    first, *_rest = [book(s, now=booked_at) for s in slots[:3]]
    with pytest.raises(ApplicationError) as exc:
        book(slots[3], now=booked_at)
    assert exc.value.code == "too_many_open" and "3 个待办理的预约" in str(exc.value.message)
    assert ServiceSlot.objects.get(pk=slots[3].pk).booked == 0
    book(slots[3], mobile="13900000005", now=booked_at)  # another citizen is not concerned
    # A cancelled one frees a place in the count, and so does a visit whose slot has passed
    appointment_cancel_by_citizen(number=first.number, mobile=MOBILE, now=booked_at)
    fourth = book(slots[3], now=booked_at)
    later = make_slot(world.station_a2, in_days(6))
    with pytest.raises(ApplicationError):
        book(later, now=booked_at)
    assert book(later, now=at(in_days(3), 12)).status == S.REQUESTED  # in_days(3)'s is past
    assert fourth.status == S.REQUESTED

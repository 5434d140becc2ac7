"""Staff pages: masked lists with pinned query counts, the outcome form's messages, the printed
route list (addresses in full for APPOINTMENT_HANDLE only, audited), a week of slots."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.appointments.services import appointment_cancel_by_citizen, appointment_confirm
from minyi.appointments.tests.factories import at, book, in_days, make_slot
from minyi.core.models import AuditAction, AuditEvent
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db
ADDRESS = "越城区府山街道仓桥直街12号"


def _booked(world, n, day=None):
    slot = make_slot(world.station_a2, day or in_days(2), capacity=20)
    return [book(slot, mobile=f"139000003{i:02d}") for i in range(n)]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_list_is_masked_and_its_queries_do_not_grow(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    url = reverse("appointments:appointment_list")
    _booked(world, 2)
    few = _queries(client, url)
    _booked(world, 8, day=in_days(3))
    assert _queries(client, url) == few
    body = client.get(url).content.decode()
    assert "139****0300" in body and ADDRESS not in body and "13900000300" not in body


def test_the_printed_route_shows_addresses_to_handlers_only_and_is_audited(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    day = in_days(2)
    for appointment in _booked(world, 2, day=day):
        appointment_confirm(actor=leader, appointment=appointment)
    args = [world.station_a2.pk, day.isoformat()]
    admin = world.user("a2", Role.ADMIN)  # APPOINTMENT_VIEW only
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = admin.totpdevice_set.get().persistent_id
    session.save()
    route = client.get(reverse("appointments:route", args=args)).content.decode()
    assert "越城区府山街****" in route and ADDRESS not in route
    assert client.get(reverse("appointments:route_print", args=args)).status_code == 403
    client.force_login(leader)
    printed = client.get(reverse("appointments:route_print", args=args))
    assert printed.content.decode().count(ADDRESS) == 2
    assert "no-store" in printed["Cache-Control"]
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL, actor=leader).count() == 1


def test_an_outcome_without_a_reason_comes_back_with_the_message(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    # Yesterday's visit, booked and confirmed the day before: its outcome is due now.
    booked = _booked(world, 1, day=in_days(-1))[0]
    appointment = appointment_confirm(actor=leader, appointment=booked, now=at(in_days(-2), 11))
    client.force_login(leader)
    url = reverse("appointments:appointment_outcome", args=[appointment.pk])
    response = client.post(url, {"result": "no_show", "text": ""})
    assert response.status_code == 400 and "请填写未办成原因。" in response.content.decode()
    assert Appointment.objects.get().status == AppointmentStatus.CONFIRMED
    client.post(url, {"result": "done", "text": "已办结"})
    assert Appointment.objects.get().status == AppointmentStatus.DONE


def test_a_week_of_slots_from_the_form(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    monday = in_days(7 - timezone.localdate().weekday())
    data = {
        "unit": world.station_a2.pk,
        "week_start": monday.isoformat(),
        "weekdays": ["0", "2", "4"],
        "periods": ["am", "pm"],
        "capacity": "4",
    }
    response = client.post(reverse("appointments:slot_week"), data)
    assert response.url == reverse("appointments:slot_list")
    assert ServiceSlot.objects.filter(unit=world.station_a2, capacity=4).count() == 6
    past = {**data, "week_start": in_days(-1).isoformat()}
    body = client.post(reverse("appointments:slot_week"), past).content.decode()
    assert "起始日期不能早于今天。" in body


def test_tab_labels_are_translated_per_request():
    from django.utils.functional import Promise

    from minyi.appointments.views import TABS

    assert all(isinstance(label, Promise) for _value, label in TABS.choices)


def test_the_citizens_words_are_masked_and_shown_in_full_by_the_audited_reveal(client, world):
    note = "请先打我女儿电话13812345678，行动不便"
    appointment = book(make_slot(world.station_a2, in_days(3)), note=note)
    appointment_cancel_by_citizen(
        number=appointment.number,
        mobile=appointment.citizen_mobile,
        reason="改由家属代办，联系13912340000",
        now=at(in_days(1)),
    )
    leader = world.user("a2", Role.UNIT_LEADER)
    client.force_login(leader)
    page = client.get(reverse("appointments:appointment_detail", args=[appointment.pk]))
    body = page.content.decode()
    assert "请先打我女儿电话138****5678" in body and "13812345678" not in body
    assert "联系139****0000" in body and "13912340000" not in body
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()
    revealed = client.post(reverse("appointments:appointment_reveal", args=[appointment.pk]))
    text = revealed.content.decode()
    assert "13812345678" in text and "13912340000" in text
    assert 'id="note" hx-swap-oob="innerHTML"' in text
    assert AuditEvent.objects.filter(action=AuditAction.PII_REVEAL, actor=leader).count() == 1


def test_an_outcome_before_the_visit_comes_back_with_the_message(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    appointment = appointment_confirm(
        actor=leader, appointment=_booked(world, 1, day=in_days(2))[0], now=at(in_days(1), 9)
    )
    client.force_login(leader)
    url = reverse("appointments:appointment_outcome", args=[appointment.pk])
    response = client.post(url, {"result": "done", "text": "已办结"})
    assert response.status_code == 409 and "预约时段尚未开始" in response.content.decode()
    assert Appointment.objects.get().status == AppointmentStatus.CONFIRMED


def test_a_started_slot_cannot_be_confirmed_from_the_page(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    appointment = _booked(world, 1, day=in_days(-1))[0]
    client.force_login(leader)
    response = client.post(
        reverse("appointments:appointment_confirm", args=[appointment.pk]), follow=True
    )
    assert "预约时段已开始，不能再确认" in response.content.decode()
    assert Appointment.objects.get().status == AppointmentStatus.REQUESTED


def test_a_staff_cancellation_from_the_page_texts_the_citizen(client, world):
    leader = world.user("a2", Role.UNIT_LEADER)
    appointment = _booked(world, 1)[0]
    client.force_login(leader)
    url = reverse("appointments:appointment_outcome", args=[appointment.pk])
    client.post(url, {"result": "cancel", "text": "当日警力不足，请改约"})
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
    sms = OutboundSms.objects.get(purpose=SmsPurpose.APPOINTMENT)
    assert "当日警力不足，请改约" in sms.body

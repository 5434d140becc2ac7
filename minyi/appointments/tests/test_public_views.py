"""The citizen's pages: book with a code, the confirmation with the number, the refusals
(a slot in the past or full, an unknown station) with everything typed kept, and look-up and
cancellation by number and mobile."""

import re
from datetime import time

import pytest
from django.urls import reverse

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.appointments.tests.factories import MOBILE, book, in_days, make_slot
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose

pytestmark = pytest.mark.django_db

ADDRESS = "越城区北海街道环城西路88号3幢"


def _code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


def _form(chosen, **extra):
    data = {
        "slot": str(chosen.pk),
        "applicant": "disabled",
        "service": "household",
        "place": "home",
        "name": "李先生",
        "address": ADDRESS,
        "note": "轮椅出行",
        "mobile": MOBILE,
        "action": "submit",
    }
    return {**data, **extra}


def _book_url(station):
    return reverse("appointments_public:book", args=[station.code])


def test_a_citizen_finds_a_station_and_books_with_a_code(client, world):
    slot = make_slot(world.station_a2, in_days(3))
    make_slot(world.station_b1, in_days(3))
    page = client.get(reverse("appointments_public:index"), {"q": "甲二"}).content.decode()
    assert world.station_a2.name in page and world.station_b1.name not in page
    url = _book_url(world.station_a2)
    assert f'value="{slot.pk}"' in client.get(url).content.decode()

    # When they ask for a code, the form comes back as they filled it
    response = client.post(url, _form(slot, action="send_code"))
    body = response.content.decode()
    assert "验证码已发送至 139****7777" in body and ADDRESS in body and "轮椅出行" in body
    assert f'value="{slot.pk}" id="slot-{slot.pk}" checked' in body

    # And with the code, the appointment is made and its number shown
    response = client.post(url, _form(slot, code=_code()))
    appointment = Appointment.objects.get()
    assert response.url == reverse("appointments_public:done", args=[appointment.number])
    done = client.get(response.url).content.decode()
    assert appointment.number in done and "待确认" in done
    assert (appointment.address, appointment.citizen_name) == (ADDRESS, "李先生")
    assert appointment.status == AppointmentStatus.REQUESTED

    # Another browser cannot open the confirmation page
    client.logout()
    assert client.get(response.url).status_code == 404


def test_a_full_or_past_slot_is_refused_with_everything_kept(client, world):
    full = make_slot(world.station_a2, in_days(3), capacity=1)
    book(full, mobile="13900000001")
    url = _book_url(world.station_a2)
    client.post(url, _form(full, action="send_code"))
    response = client.post(url, _form(full, code=_code()))
    body = response.content.decode()
    assert response.status_code == 200 and "所选时段已约满" in body
    assert ADDRESS in body and "李先生" in body and "轮椅出行" in body
    assert Appointment.objects.count() == 1

    # The mobile is proven already: a past slot is refused without a new code
    past = make_slot(world.station_a2, in_days(-1), start=time(9))
    body = client.post(url, _form(past)).content.decode()
    assert "所选时段已过" in body and ADDRESS in body
    assert Appointment.objects.count() == 1


def test_missing_fields_have_their_own_messages(client, world):
    slot = make_slot(world.station_a2, in_days(3))
    body = client.post(_book_url(world.station_a2), {**_form(slot, address=""), "slot": ""}).content
    body = body.decode()
    assert "请填写上门地址。" in body and "请选择预约时段。" in body and "李先生" in body


def test_an_unknown_station_says_so(client, world):
    response = client.get(reverse("appointments_public:book", args=["NOPE"]))
    assert response.status_code == 404
    assert "未找到该派出所" in response.content.decode()
    response = client.post(reverse("appointments_public:book", args=["NOPE"]), {"name": "x"})
    assert response.status_code == 404


def test_look_up_and_cancel_by_number_and_mobile(client, world):
    slot = make_slot(world.station_a2, in_days(3), capacity=1)
    appointment = book(slot)
    url = reverse("appointments_public:lookup")
    client.post(url, {"number": appointment.number, "mobile": MOBILE, "action": "send_code"})
    # A wrong number reads like someone else's: not found, the number kept
    body = client.post(url, {"number": "BZ000", "mobile": MOBILE, "code": _code()}).content
    assert "未找到该预约" in body.decode() and "BZ000" in body.decode()
    response = client.post(url, {"number": appointment.number.lower(), "mobile": MOBILE})
    mine = reverse("appointments_public:mine", args=[appointment.number])
    assert response.url == mine
    assert "待确认" in client.get(mine).content.decode()
    client.post(mine, {"action": "cancel", "reason": "家人已代办"})
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
    assert ServiceSlot.objects.get(pk=slot.pk).booked == 0
    assert "已取消" in client.get(mine).content.decode()


def test_mine_without_a_proven_mobile_goes_to_look_up(client, world):
    appointment = book(make_slot(world.station_a2, in_days(3)))
    response = client.get(reverse("appointments_public:mine", args=[appointment.number]))
    assert response.url == reverse("appointments_public:lookup")


def test_a_second_place_or_a_fourth_visit_is_refused_with_everything_kept(client, world):
    slots = [make_slot(world.station_a2, in_days(n), capacity=3) for n in (2, 3, 4, 5)]
    book(slots[0])
    url = _book_url(world.station_a2)
    client.post(url, _form(slots[0], action="send_code"))
    body = client.post(url, _form(slots[0], code=_code())).content.decode()
    assert "该手机号码已预约过这个时段" in body
    assert ADDRESS in body and "李先生" in body and "轮椅出行" in body
    assert f'value="{slots[0].pk}" id="slot-{slots[0].pk}" checked' in body
    book(slots[1])
    book(slots[2])
    body = client.post(url, _form(slots[3])).content.decode()
    assert "该手机号码已有 3 个待办理的预约" in body
    assert ADDRESS in body and "李先生" in body and "轮椅出行" in body
    assert Appointment.objects.count() == 3

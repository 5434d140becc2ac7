"""Test data of mobile service appointments: slots and bookings at explicit times."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from minyi.appointments.models import Applicant, ServiceKind, ServiceSlot, VisitPlace
from minyi.appointments.services import appointment_request

MOBILE = "13900007777"


def at(day: date, hour: int = 10, minute: int = 0):
    """A local time on `day` (tests never depend on the wall clock's hour)."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def in_days(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


def make_slot(unit, day: date, *, start=time(9), end=time(11, 30), capacity=2, **extra):
    return ServiceSlot.objects.create(
        unit=unit, date=day, start_time=start, end_time=end, capacity=capacity, **extra
    )


def book(
    slot,
    *,
    mobile=MOBILE,
    now=None,
    name="王阿婆",
    address="越城区府山街道仓桥直街12号",
    note="行动不便，需上门拍照",
):
    return appointment_request(
        slot_id=slot.pk,
        mobile=mobile,
        name=name,
        address=address,
        applicant=Applicant.ELDERLY,
        service=ServiceKind.ID_CARD,
        place=VisitPlace.HOME,
        note=note,
        now=now or at(slot.date - timedelta(days=1)),
    )

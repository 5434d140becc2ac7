"""Reads of mobile service appointments (移动办证): staff reads are scoped to the actor's
subtree; the citizen's reads show a station's open future slots only."""

from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from minyi.appointments.models import Appointment, AppointmentStatus, ServiceSlot
from minyi.core.errors import NotFound
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q

S = AppointmentStatus
STATIONS_SHOWN = 50
# Slots a citizen may book: up to four weeks ahead.
BOOKING_DAYS = 28


def stations_public(q: str = "") -> QuerySet[OrgUnit]:
    """Active police stations with an open future slot, by name or short name (a citizen
    may type the community, which stations usually carry in their name)."""
    today = timezone.localdate()
    open_units = ServiceSlot.objects.filter(
        is_open=True, date__gte=today, booked__lt=F("capacity")
    ).values("unit_id")
    stations = OrgUnit.objects.filter(
        kind=UnitKind.POLICE_STATION, is_active=True, pk__in=open_units
    )
    q = (q or "").replace("\x00", "").strip()
    if q:
        stations = stations.filter(
            Q(name__contains=q) | Q(short_name__contains=q) | Q(address__contains=q)
        )
    return stations.order_by("path")


def slots_open_for(station: OrgUnit, *, now=None) -> list[ServiceSlot]:
    """The station's slots a citizen may still book: open, not full, starting later."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = ServiceSlot.objects.filter(
        unit=station,
        is_open=True,
        date__gte=today,
        date__lte=today + timedelta(days=BOOKING_DAYS),
        booked__lt=F("capacity"),
    ).order_by("date", "start_time")
    return [slot for slot in rows if slot.starts_at() > now]


def stations_visible_to(user) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(
        scope_q(user, ""), kind=UnitKind.POLICE_STATION, is_active=True
    ).order_by("path")


def station_get_visible(user, pk) -> OrgUnit:
    station = stations_visible_to(user).filter(pk=pk).first()
    if station is None:
        raise NotFound()
    return station


def slot_list_visible_to(user, *, since: date) -> QuerySet[ServiceSlot]:
    return (
        ServiceSlot.objects.filter(scope_q(user), date__gte=since)
        .select_related("unit")
        .annotate(
            confirmed=Count("appointments", filter=Q(appointments__status=S.CONFIRMED)),
        )
        .order_by("date", "start_time", "unit__path")
    )


def slot_get_visible(user, pk) -> ServiceSlot:
    slot = ServiceSlot.objects.filter(scope_q(user), pk=pk).select_related("unit").first()
    if slot is None:
        raise NotFound()
    return slot


def appointment_list_visible_to(
    user, *, status: str = "", day: date | None = None
) -> QuerySet[Appointment]:
    qs = Appointment.objects.filter(scope_q(user)).select_related("slot", "unit")
    if status:
        qs = qs.filter(status=status)
    if day is not None:
        qs = qs.filter(slot__date=day)
    return qs.order_by("slot__date", "slot__start_time", "created_at", "id")


def appointment_counts(user) -> dict:
    return dict(
        Appointment.objects.filter(scope_q(user))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )


def appointment_get_visible(user, pk) -> Appointment:
    appointment = (
        Appointment.objects.filter(scope_q(user), pk=pk).select_related("slot", "unit").first()
    )
    if appointment is None:
        raise NotFound()
    return appointment


def route_stops(user, station: OrgUnit, day: date) -> list[Appointment]:
    """The day's confirmed (and already closed) visits of a visible station, in route order
    (stops not yet ordered last, by slot)."""
    return list(
        Appointment.objects.filter(
            scope_q(user),
            unit=station,
            slot__date=day,
            status__in=(S.CONFIRMED, S.DONE, S.NO_SHOW),
        )
        .select_related("slot", "unit")
        .order_by(F("route_order").asc(nulls_last=True), "slot__start_time", "id")
    )

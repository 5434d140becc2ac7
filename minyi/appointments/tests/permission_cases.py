"""Permission-matrix cases of the mobile service appointment pages (collected by
minyi/console/tests/test_permission_matrix.py). The owner is station a2 with a slot and an
appointment in it; a sibling station's staff must neither list nor open either."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

VIEW, HANDLE = Perm.APPOINTMENT_VIEW, Perm.APPOINTMENT_HANDLE
SLOT_NOTE = "甲二所上门时段标记"


def _slot(world):
    from minyi.appointments.models import ServiceSlot
    from minyi.appointments.tests.factories import in_days, make_slot

    return ServiceSlot.objects.filter(unit=world.station_a2).first() or make_slot(
        world.station_a2, in_days(3), note=SLOT_NOTE
    )


def _appointment(world):
    from minyi.appointments.models import Appointment
    from minyi.appointments.services import appointment_confirm
    from minyi.appointments.tests.factories import book
    from minyi.orgs.choices import Role

    existing = Appointment.objects.filter(unit=world.station_a2).first()
    if existing:
        return existing
    appointment = book(_slot(world))
    return appointment_confirm(actor=world.user("a2", Role.UNIT_LEADER), appointment=appointment)


def _number(world):
    return _appointment(world).number


def _slot_marker(world):
    _slot(world)
    return SLOT_NOTE


def _mobile(world):
    return _appointment(world).citizen_mobile


def _address(world):
    return _appointment(world).address


def _on(name):
    return lambda w: reverse(f"appointments:{name}", args=[_appointment(w).pk])


def _route(name):
    return lambda w: reverse(
        f"appointments:{name}", args=[w.station_a2.pk, _slot(w).date.isoformat()]
    )


CASES = {
    "appointments:appointment_list": Case(
        VIEW, lambda w: reverse("appointments:appointment_list") + "?status=all", _number
    ),
    "appointments:appointment_detail": Case(VIEW, _on("appointment_detail"), _number, detail=True),
    # Already confirmed: refused with a message, back to the appointment.
    "appointments:appointment_confirm": Case(
        HANDLE, _on("appointment_confirm"), _number, method="post", detail=True, owner_status=302
    ),
    # No result chosen: the page again with the form's message.
    "appointments:appointment_outcome": Case(
        HANDLE, _on("appointment_outcome"), _number, method="post", detail=True, owner_status=400
    ),
    "appointments:appointment_reveal": Case(
        HANDLE, _on("appointment_reveal"), _mobile, method="post", detail=True
    ),
    "appointments:slot_list": Case(VIEW, lambda w: reverse("appointments:slot_list"), _slot_marker),
    "appointments:slot_week": Case(HANDLE, lambda w: reverse("appointments:slot_week"), None),
    "appointments:slot_close": Case(
        HANDLE,
        lambda w: reverse("appointments:slot_close", args=[_slot(w).pk]),
        _slot_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    # To the user's own first station today.
    "appointments:route_today": Case(
        VIEW,
        lambda w: reverse("appointments:route_today"),
        None,
        owner_status=302,
        sibling_status=302,
    ),
    "appointments:route": Case(VIEW, _route("route"), _number, detail=True),
    "appointments:route_order": Case(
        HANDLE, _route("route_order"), _number, method="post", detail=True, owner_status=302
    ),
    "appointments:route_print": Case(HANDLE, _route("route_print"), _address, detail=True),
}

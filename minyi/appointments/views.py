"""Staff pages of mobile service appointments (移动办证): the requests (待确认, 已确认, …),
one appointment with its actions (confirm, record the outcome, reveal the contact), the slots
and a week of them at once, and the day's route list, ordered and printable.

Every page is scoped to the user's subtree; mobiles, addresses and the citizen's own words (the
note, a cancellation's reason) are masked, and shown in full only to APPOINTMENT_HANDLE, audited
(one appointment's reveal, or the printed route list)."""

from datetime import date, timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.appointments.forms import PERIODS, OutcomeForm, SlotWeekForm
from minyi.appointments.models import AppointmentStatus
from minyi.appointments.selectors import (
    appointment_counts,
    appointment_get_visible,
    appointment_list_visible_to,
    route_stops,
    slot_get_visible,
    slot_list_visible_to,
    station_get_visible,
    stations_visible_to,
)
from minyi.appointments.services import (
    appointment_cancel,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reveal,
    route_order_set,
    route_reveal,
    slot_close,
    slots_create_week,
)
from minyi.core.errors import ApplicationError
from minyi.core.pii import mask_mobile, mask_text
from minyi.core.ui import ALL, Tabs, console_list
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm

S = AppointmentStatus
TABS = Tabs(
    choices=(
        (S.REQUESTED, gettext_lazy("待确认")),
        (S.CONFIRMED, gettext_lazy("已确认")),
        (S.DONE, gettext_lazy("已办结")),
        (S.NO_SHOW, gettext_lazy("未办成")),
        (S.CANCELLED, gettext_lazy("已取消")),
        (ALL, gettext_lazy("全部")),
    ),
    default=S.REQUESTED,
)


def mask_address(address: str) -> str:
    """The first six characters (the district and street), the rest hidden."""
    return f"{address[:6]}****" if len(address) > 6 else "****"


def _masked(appointment) -> None:
    appointment.mobile_masked = mask_mobile(appointment.citizen_mobile)
    appointment.address_masked = mask_address(appointment.address)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Http404 from exc


@staff_view(Perm.APPOINTMENT_VIEW)
def appointment_list(request):
    current = TABS.current(request)
    counts = appointment_counts(request.user)
    counts[ALL] = sum(counts.values())
    for value, _label in TABS.choices:
        counts.setdefault(value, 0)
    rows = appointment_list_visible_to(request.user, status=TABS.filter_value(current))
    context = console_list(request, rows, tabs=TABS, current=current, counts=counts)
    for appointment in context["page"]:
        _masked(appointment)
    context["today"] = timezone.localdate()
    return render(request, "appointments/appointment_list.html", context)


def _citizens_words(appointment) -> list:
    """The history, the citizen's own words (a cancellation's reason: events without a staff
    actor) with mobile and ID numbers masked, as the note is."""
    events = list(appointment.events.select_related("actor"))
    for event in events:
        event.note_shown = mask_text(event.note) if event.actor_id is None else event.note
    return events


def _detail(request, appointment, *, form=None, status=200):
    _masked(appointment)
    appointment.note_masked = mask_text(appointment.note)
    return render(
        request,
        "appointments/appointment_detail.html",
        {
            "appointment": appointment,
            "events": _citizens_words(appointment),
            "form": form or OutcomeForm(),
            "can_handle": has_perm(request.user, Perm.APPOINTMENT_HANDLE),
        },
        status=status,
    )


@staff_view(Perm.APPOINTMENT_VIEW)
def appointment_detail(request, pk):
    return _detail(request, appointment_get_visible(request.user, pk))


@staff_view(Perm.APPOINTMENT_HANDLE)
@require_POST
def appointment_confirm_view(request, pk):
    appointment = appointment_get_visible(request.user, pk)
    try:
        appointment_confirm(actor=request.user, appointment=appointment)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已确认，确认短信将发送给群众。"))
    return redirect("appointments:appointment_detail", pk=pk)


@staff_view(Perm.APPOINTMENT_HANDLE)
@require_POST
def appointment_outcome_view(request, pk):
    appointment = appointment_get_visible(request.user, pk)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _detail(request, appointment, form=form, status=400)
    result, text = form.cleaned_data["result"], form.cleaned_data["text"]
    try:
        if result == OutcomeForm.DONE:
            appointment_complete(actor=request.user, appointment=appointment, outcome=text)
        elif result == OutcomeForm.NO_SHOW:
            appointment_no_show(actor=request.user, appointment=appointment, outcome=text)
        else:
            appointment_cancel(actor=request.user, appointment=appointment, reason=text)
    except ApplicationError as exc:
        form.add_error("text" if exc.field in ("outcome", "reason") else None, exc.message)
        return _detail(request, appointment, form=form, status=exc.status)
    messages.success(request, _("办理结果已记录。"))
    return redirect("appointments:appointment_detail", pk=pk)


@staff_view(Perm.APPOINTMENT_HANDLE)
@require_POST
def appointment_reveal_view(request, pk):
    appointment = appointment_get_visible(request.user, pk)
    contact = appointment_reveal(actor=request.user, appointment=appointment, request=request)
    response = render(request, "appointments/_revealed.html", contact)
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.APPOINTMENT_VIEW)
def slot_list(request):
    today = timezone.localdate()
    slots = list(slot_list_visible_to(request.user, since=today)[:500])
    return render(
        request,
        "appointments/slot_list.html",
        {
            "slots": slots,
            "today": today,
            "can_handle": has_perm(request.user, Perm.APPOINTMENT_HANDLE),
        },
    )


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


@staff_view(Perm.APPOINTMENT_HANDLE)
def slot_week(request):
    stations = stations_visible_to(request.user)
    form = SlotWeekForm(
        request.POST or None,
        stations=stations,
        initial={"week_start": _next_monday(timezone.localdate())},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, skipped = slots_create_week(
                actor=request.user,
                unit=data["unit"],
                week_start=data["week_start"],
                weekdays=data["weekdays"],
                periods=[PERIODS[p] for p in data["periods"]],
                capacity=data["capacity"],
                note=data["note"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("已新增 %(n)d 个时段。") % {"n": created}
                + (_("（%(k)d 个时段已存在，未重复新增）") % {"k": skipped} if skipped else ""),
            )
            return redirect("appointments:slot_list")
    return render(request, "appointments/slot_week.html", {"form": form})


@staff_view(Perm.APPOINTMENT_HANDLE)
@require_POST
def slot_close_view(request, pk):
    slot = slot_get_visible(request.user, pk)
    slot_close(actor=request.user, slot=slot)
    messages.success(request, _("该时段已停止预约。"))
    return redirect("appointments:slot_list")


def _route_context(request, unit_pk, day):
    station = station_get_visible(request.user, unit_pk)
    day = _day(day)
    stops = route_stops(request.user, station, day)
    for stop in stops:
        _masked(stop)
    return {"station": station, "day": day, "stops": stops}


@staff_view(Perm.APPOINTMENT_VIEW)
def route(request, unit_pk, day):
    context = _route_context(request, unit_pk, day)
    context.update(
        can_handle=has_perm(request.user, Perm.APPOINTMENT_HANDLE),
        stations=stations_visible_to(request.user),
        previous=context["day"] - timedelta(days=1),
        next=context["day"] + timedelta(days=1),
    )
    return render(request, "appointments/route.html", context)


@staff_view(Perm.APPOINTMENT_HANDLE)
@require_POST
def route_order_view(request, unit_pk, day):
    station = station_get_visible(request.user, unit_pk)
    order = {}
    for key, value in request.POST.items():
        if key.startswith("order-") and value.strip().isdigit():
            try:
                order[int(key[6:])] = min(int(value), 999)
            except ValueError:
                continue
    route_order_set(actor=request.user, unit=station, day=_day(day), order=order)
    messages.success(request, _("路线顺序已保存。"))
    return redirect("appointments:route", unit_pk=station.pk, day=day)


@staff_view(Perm.APPOINTMENT_HANDLE)
def route_print(request, unit_pk, day):
    """The team's printed list: addresses and mobiles in full, audited as one reveal."""
    context = _route_context(request, unit_pk, day)
    route_reveal(
        actor=request.user,
        unit=context["station"],
        day=context["day"],
        count=len(context["stops"]),
        request=request,
    )
    response = render(request, "appointments/route_print.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.APPOINTMENT_VIEW)
def route_today(request):
    """The route of the user's first station today (the sidebar's link)."""
    station = stations_visible_to(request.user).first()
    if station is None:
        return render(request, "appointments/route.html", {"stops": [], "no_station": True})
    return redirect("appointments:route", unit_pk=station.pk, day=timezone.localdate().isoformat())

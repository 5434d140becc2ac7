"""Citizen pages of mobile service appointments (移动办证), under /c/appointments/: find a
station (by its name or a community's), book one of its open slots for a home or on-site
visit from a mobile proven with a one-time code (OtpPurpose.APPOINTMENT, no subject: one proof
serves booking and look-up), the confirmation with the appointment's number, and looking up
or cancelling an appointment by its number and the same mobile.

Phone first, no JavaScript: "获取验证码" is a submit button of the same form, and a refused
booking (a slot in the past or full) comes back with everything the citizen typed."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from minyi.appointments.forms import BookingForm, FinderForm, LookupForm
from minyi.appointments.selectors import STATIONS_SHOWN, slots_open_for, stations_public
from minyi.appointments.services import (
    appointment_cancel_by_citizen,
    appointment_find_for_citizen,
    appointment_request,
    station_get_public,
)
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import mask_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code

PURPOSE = OtpPurpose.APPOINTMENT
BOOKED_KEY = "appointments_booked"  # numbers this session booked: their confirmation pages


def _proven(request) -> str:
    return session_verified_mobile(request.session, purpose=PURPOSE)


def _add_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


def _finder(request, *, error: str = "", status: int = 200):
    form = FinderForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    stations = list(stations_public(q)[:STATIONS_SHOWN])
    return render(
        request,
        "appointments/public/index.html",
        {"form": form, "q": q, "stations": stations, "error": error},
        status=status,
    )


@require_safe
def index(request):
    return _finder(request)


def book(request, code):
    try:
        station = station_get_public(code)
    except NotFound as exc:
        return _finder(request, error=str(exc.message), status=404)
    proven = _proven(request)
    form = BookingForm(request.POST or None, initial={"mobile": proven})
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=PURPOSE
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mobile = proven_mobile(
                request, mobile=data["mobile"], code=data["code"], purpose=PURPOSE
            )
            appointment = appointment_request(
                slot_id=data["slot"],
                mobile=mobile,
                name=data["name"],
                address=data["address"],
                applicant=data["applicant"],
                service=data["service"],
                place=data["place"],
                note=data["note"],
                station=station,
            )
        except ApplicationError as exc:
            _add_error(form, exc)
        else:
            request.session[BOOKED_KEY] = [
                *request.session.get(BOOKED_KEY, [])[-9:],
                appointment.number,
            ]
            return redirect("appointments_public:done", number=appointment.number)
    proven = _proven(request)
    return render(
        request,
        "appointments/public/book.html",
        {
            "station": station,
            "slots": slots_open_for(station),
            "chosen": form["slot"].value() or "",
            "form": form,
            "notice": notice,
            "code_error": code_error,
            "proven_masked": mask_mobile(proven) if proven else "",
        },
    )


@require_safe
def done(request, number):
    mobile = _proven(request)
    if number not in request.session.get(BOOKED_KEY, []) or not mobile:
        raise Http404
    try:
        appointment = appointment_find_for_citizen(number=number, mobile=mobile)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "appointments/public/done.html", {"appointment": appointment})


def lookup(request):
    proven = _proven(request)
    form = LookupForm(request.POST or None, initial={"mobile": proven})
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=PURPOSE
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mobile = proven_mobile(
                request, mobile=data["mobile"], code=data["code"], purpose=PURPOSE
            )
            appointment = appointment_find_for_citizen(number=data["number"], mobile=mobile)
        except ApplicationError as exc:
            _add_error(form, exc)
        else:
            return redirect("appointments_public:mine", number=appointment.number)
    return render(
        request,
        "appointments/public/lookup.html",
        {
            "form": form,
            "notice": notice,
            "code_error": code_error,
            "proven_masked": mask_mobile(_proven(request)) if _proven(request) else "",
        },
    )


def mine(request, number):
    """One appointment of the session's proven mobile, and its cancellation."""
    mobile = _proven(request)
    if not mobile:
        return redirect("appointments_public:lookup")
    try:
        appointment = appointment_find_for_citizen(number=number, mobile=mobile)
    except NotFound as exc:
        raise Http404 from exc
    error = ""
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            appointment_cancel_by_citizen(
                number=number, mobile=mobile, reason=request.POST.get("reason", "")
            )
        except ApplicationError as exc:
            error = str(exc.message)
        else:
            return redirect("appointments_public:mine", number=number)
    return render(
        request,
        "appointments/public/mine.html",
        {
            "appointment": appointment,
            "error": error,
            "reason": request.POST.get("reason", ""),
            "mobile_masked": mask_mobile(mobile),
        },
    )

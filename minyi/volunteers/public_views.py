"""Citizen pages of volunteers, under /c/volunteers/: the stations that have volunteers; a
station's open activities; joining as a volunteer (报名成为志愿者) with a mobile proven by a
one-time code (OtpPurpose.VOLUNTEER_JOIN, subject = the station's code) and the consent notice
shown and agreed to; signing up for an activity with the registered mobile (the same proof);
and the station's recognition list (表彰榜), names only of those who agreed (张** otherwise).

Phone first, no JavaScript; a refusal keeps everything typed."""

from datetime import date

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from minyi.community.models import AreaLevel, GridArea
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import mask_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_forget, session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code
from minyi.volunteers import selectors as sel
from minyi.volunteers.forms import JoinForm, SignupForm
from minyi.volunteers.models import VolunteerSource, VolunteerStatus
from minyi.volunteers.services import (
    CONSENT_TEXT,
    signup_add,
    volunteer_register,
    volunteer_withdraw,
)

PURPOSE = OtpPurpose.VOLUNTEER_JOIN
WITHDRAW, FORGET = "withdraw", "forget"


def _station(code):
    try:
        return sel.public_station_get(code)
    except NotFound as exc:
        raise Http404 from exc


def _form_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


@require_safe
def station_index(request):
    return render(request, "volunteers/public/index.html", {"stations": sel.public_stations()})


@require_safe
def station(request, code):
    unit = _station(code)
    return render(
        request,
        "volunteers/public/station.html",
        {"station": unit, "activities": sel.public_open_activities(unit)},
    )


def _prove(request, form, subject) -> str:
    """The mobile the session or the typed code proves, or "" with the error on the form."""
    try:
        return proven_mobile(
            request,
            mobile=form.cleaned_data["mobile"],
            code=form.cleaned_data["code"],
            purpose=PURPOSE,
            subject=subject,
        )
    except ApplicationError as exc:
        _form_error(form, exc)
        return ""


def join(request, code):
    unit = _station(code)
    subject = unit.code
    mobile = session_verified_mobile(request.session, purpose=PURPOSE, subject=subject)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    existing = sel.public_volunteer_for(unit, mobile) if mobile else None
    if existing is not None and existing.status == VolunteerStatus.ACTIVE:
        if action == WITHDRAW:
            volunteer_withdraw(actor=None, volunteer=existing)
            return redirect("volunteers_public:join", code=unit.code)
        if action == FORGET:
            session_forget(request.session, purpose=PURPOSE)
            return redirect("volunteers_public:join", code=unit.code)
        return render(
            request,
            "volunteers/public/joined.html",
            {"station": unit, "volunteer": existing, "mobile_masked": mask_mobile(mobile)},
        )
    communities = GridArea.objects.filter(station=unit, level=AreaLevel.COMMUNITY).order_by("name")
    form = JoinForm(request.POST or None, communities=communities, initial={"mobile": mobile})
    notice = code_error = ""
    status = 200
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=PURPOSE, subject=subject
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not data["consent"]:
            # Refused before the code is spent: the citizen ticks the box and sends again.
            form.add_error("consent", _("请阅读并勾选同意《志愿者个人信息告知书》后再提交。"))
        elif proven := _prove(request, form, subject):
            try:
                volunteer_register(
                    actor=None,
                    unit=unit,
                    mobile=proven,
                    consent=True,
                    name=data["name"],
                    community=data["community"],
                    skills=data["skills"],
                    availability=data["availability"],
                    availability_note=data["availability_note"],
                    public_name=data["public_name"],
                    source=VolunteerSource.SELF,
                )
            except ApplicationError as exc:
                _form_error(form, exc)
            else:
                return redirect("volunteers_public:join", code=unit.code)
        status = 400
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "volunteers/public/join.html",
        {
            "station": unit,
            "form": form,
            "notice": notice,
            "code_error": code_error,
            "consent_text": CONSENT_TEXT,
            "rejoining": existing is not None,
            # Asking for a code is not submitting: the other fields are not judged yet.
            "asked_code": wants_code(request),
        },
        status=status,
    )


def activity_signup(request, pk):
    try:
        activity = sel.public_activity_get(pk)
    except NotFound as exc:
        raise Http404 from exc
    subject = activity.unit.code
    form = SignupForm(request.POST or None)
    notice = code_error = ""
    done = False
    status = 200
    mobile = session_verified_mobile(request.session, purpose=PURPOSE, subject=subject)
    if mobile and request.method == "GET":
        form = SignupForm(initial={"mobile": mobile})
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=PURPOSE, subject=subject
        )
    elif request.method == "POST" and form.is_valid():
        proven = _prove(request, form, subject)
        volunteer = sel.public_volunteer_for(activity.unit, proven) if proven else None
        if proven and volunteer is None:
            form.add_error(
                None, _("该手机号尚未登记为本所志愿者，请先报名成为志愿者，再报名参加活动。")
            )
        elif volunteer is not None:
            try:
                signup_add(activity=activity, volunteer=volunteer, source=VolunteerSource.SELF)
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
            else:
                done = True
        status = 200 if done else 400
    elif request.method == "POST":
        status = 400
    signed = activity.signups.count()
    return render(
        request,
        "volunteers/public/signup.html",
        {
            "activity": activity,
            "form": form,
            "notice": notice,
            "code_error": code_error,
            "done": done,
            "signed": signed,
            "started": activity.starts_at <= timezone.now(),
        },
        status=status,
    )


@require_safe
def recognition(request, code):
    unit = _station(code)
    today = timezone.localdate()
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= today.year else today.year
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    return render(
        request,
        "volunteers/public/recognition.html",
        {
            "station": unit,
            "year": year,
            "rows": sel.public_recognition(unit, first=first, last=last),
        },
    )

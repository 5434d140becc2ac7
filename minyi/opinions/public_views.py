"""The citizen's opinion pages (警务e广场), under /c/: write a suggestion, complaint,
consultation or tip; look up one's own by a proven mobile; rate the answer; read the public
wall of answered suggestions. Capability 4 of DOMAIN.md.

Phone first, no JavaScript: "获取验证码" submits the whole form, and every refusal re-renders
the form with what the citizen typed (chosen photos excepted: browsers cannot refill a file
input, and the page says so).
"""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.pii import mask_mobile
from minyi.opinions.models import Opinion, OpinionKind, OpinionStatus
from minyi.opinions.public_forms import LookupForm, OpinionForm, RatingForm, clean_number
from minyi.opinions.selectors import (
    opinion_for_mobile,
    opinion_list_for_mobile,
    opinion_wall_list,
)
from minyi.opinions.services.handling import opinion_rate
from minyi.opinions.services.intake import opinion_submit
from minyi.perception.models import Rating
from minyi.verification.models import OtpPurpose
from minyi.verification.services import (
    session_forget,
    session_mark_verified,
    session_verified_mobile,
)
from minyi.verification.views import proven_mobile, send_code, wants_code

WALL_PAGE_SIZE = 20
FORGET = "forget"  # the value of the track page's "换个手机号" button


def _form_error(form, exc: ApplicationError) -> None:
    """Put a service's refusal next to the field it names, or above the form."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def _lookup_mobile(request) -> str:
    return session_verified_mobile(request.session, purpose=OtpPurpose.OPINION_LOOKUP)


def _own_opinion(request, number: str) -> Opinion | None:
    """The opinion `number`, if this session proved the mobile that submitted it."""
    return opinion_for_mobile(number, _lookup_mobile(request))


def _track_url(number: str = "") -> str:
    url = reverse("portal:opinion_track")
    return f"{url}?{urlencode({'number': number})}" if number else url


# --- Write ---------------------------------------------------------------------------------


def opinion_new(request):
    done = request.GET.get("done", "")
    if request.method == "GET" and done:
        opinion = _own_opinion(request, done)
        if opinion is not None:
            return render(request, "opinions/public/done.html", {"opinion": opinion})
    proven = session_verified_mobile(request.session, purpose=OtpPurpose.OPINION_SUBMIT)
    notice = code_error = ""
    if request.method != "POST":
        kind = request.GET.get("kind", "")
        form = OpinionForm(initial={"kind": kind} if kind in OpinionKind.values else {})
    elif wants_code(request):
        # Bound but not validated: what was typed comes back, without errors on fields the
        # citizen has not finished yet.
        form = OpinionForm(request.POST)
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=OtpPurpose.OPINION_SUBMIT
        )
    else:
        form = OpinionForm(request.POST, request.FILES)
        response = _submit(request, form)
        if response is not None:
            return response
    return render(
        request,
        "opinions/public/new.html",
        {
            "form": form,
            "notice": notice,
            "code_error": code_error,
            "proven_masked": mask_mobile(proven),
            "files_lost": request.method == "POST" and bool(request.FILES),
        },
    )


def _submit(request, form: OpinionForm):
    """The redirect to the done page, or None with the refusal put on `form`."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        mobile = proven_mobile(
            request,
            mobile=data["mobile"],
            code=data["code"],
            purpose=OtpPurpose.OPINION_SUBMIT,
        )
        opinion = opinion_submit(
            kind=data["kind"],
            content=data["content"],
            mobile=mobile,
            anonymous=data["anonymous"],
            contact_name=data["contact_name"],
            area=data["area"],
            unit_id=data["unit"] or None,
            wall_consent=data["wall_consent"],
            photos=data["photos"],
        )
    except ApplicationError as exc:
        _form_error(form, exc)
        return None
    # The mobile is proven: the citizen may follow the opinion at once, without a second code.
    session_mark_verified(request.session, purpose=OtpPurpose.OPINION_LOOKUP, mobile=mobile)
    return redirect(f"{reverse('portal:opinion_new')}?{urlencode({'done': opinion.number})}")


# --- Look up -------------------------------------------------------------------------------


def opinion_track(request):
    number = clean_number(request.GET.get("number", ""))
    if request.method == "POST" and request.POST.get("action") == FORGET:
        session_forget(request.session, purpose=OtpPurpose.OPINION_LOOKUP)
        return redirect(_track_url(number))
    mobile = _lookup_mobile(request)
    if mobile:
        opinions = list(opinion_list_for_mobile(mobile))
        return render(
            request,
            "opinions/public/track_list.html",
            {
                "opinions": opinions,
                "number": number,
                # Absent, or another mobile's (anonymous or not): one answer for both.
                "number_missing": bool(number) and all(o.number != number for o in opinions),
                "mobile_masked": mask_mobile(mobile),
            },
        )
    # Bound forms keep what was typed; after "获取验证码" it is not validated, so no errors.
    form = LookupForm(request.POST or None, initial={"number": number})
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=OtpPurpose.OPINION_LOOKUP
        )
    elif request.method == "POST" and form.is_valid():
        try:
            proven_mobile(
                request,
                mobile=form.cleaned_data["mobile"],
                code=form.cleaned_data["code"],
                purpose=OtpPurpose.OPINION_LOOKUP,
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            return _after_lookup(request, form.cleaned_data["number"] or number)
    return render(
        request,
        "opinions/public/track.html",
        {"form": form, "notice": notice, "code_error": code_error, "number": number},
    )


def _after_lookup(request, number: str):
    """Where a proven mobile goes: straight to the opinion whose number was typed, if this
    mobile submitted it; otherwise the mobile's own list, which says that number was not
    found (the same words whether it does not exist or is someone else's)."""
    if number and request.POST.get("number") and _own_opinion(request, number) is not None:
        return redirect("portal:opinion_status", number=number)
    return redirect(_track_url(number))


def _timeline(opinion: Opinion) -> list[dict]:
    """What the citizen may see of the history: when it moved, to which status, and which
    unit it was transferred to. Staff names and internal notes stay inside."""
    steps = []
    unit_id = None
    for event in opinion.history.select_related("unit"):
        moved = unit_id is not None and event.unit_id != unit_id
        if event.from_status == event.to_status and not moved:
            continue  # an internal step (a tip's verification) that changes nothing visible
        if moved:
            label = _("转办至 %(unit)s") % {"unit": event.unit.name}
        elif not steps:
            label = _("已受理，承办单位：%(unit)s") % {"unit": event.unit.name}
        else:
            label = event.to_label
        steps.append(
            {
                "at": event.created_at,
                "label": label,
                "answer": opinion.answer if event.to_status == OpinionStatus.ANSWERED else "",
            }
        )
        unit_id = event.unit_id
    return steps


def opinion_status(request, number):
    opinion = _own_opinion(request, number)
    if opinion is None:
        # Absent, or not this session's: the same answer, so numbers cannot be probed.
        return redirect(_track_url(number))
    form = None
    if opinion.status == OpinionStatus.ANSWERED:
        form = RatingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                opinion_rate(
                    opinion=opinion,
                    mobile=_lookup_mobile(request),
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except ApplicationError as exc:
                _form_error(form, exc)
            else:
                return redirect("portal:opinion_status", number=opinion.number)
    return render(
        request,
        "opinions/public/status.html",
        {
            "opinion": opinion,
            "timeline": _timeline(opinion),
            "form": form,
            "rating_label": Rating(opinion.rating).label if opinion.rating else "",
        },
    )


# --- Public wall ---------------------------------------------------------------------------


def opinion_wall(request):
    page = Paginator(opinion_wall_list(), WALL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "opinions/public/wall.html", {"page": page})

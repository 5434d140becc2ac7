"""Citizen pages of community safety (社区治安), under /c/community/: find a community by name;
its page with its officers and their responsibility lists (责任清单), and, for a community of at
least PUBLIC_MIN_HOUSEHOLDS households, its colour in plain words, the 12-month trend of
incidents per 10,000 residents and its recent safety notices; and subscribing to the notices by
SMS from a mobile proven with a one-time code (OtpPurpose.NOTICE_SUBSCRIBE, subject = the
community's grid code), or stopping them.

Aggregates only: never an incident, a place or a time below the community, never a subscriber's
number (masked once proven). Phone first, no JavaScript.
"""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from minyi.community.public_forms import FinderForm, SubscribeForm
from minyi.community.work import (
    NOTICE_DAILY_LIMIT,
    public_colour_words,
    public_communities,
    public_community_get,
    public_is_large_enough,
    public_notices,
    public_officers,
    public_trend,
    subscribe,
    subscription_active,
    unsubscribe,
)
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import mask_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_forget, session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code

SUBSCRIBE, UNSUBSCRIBE, FORGET = "subscribe", "unsubscribe", "forget"
FINDER_LIMIT = 50


def _community(code):
    try:
        return public_community_get(code)
    except NotFound as exc:
        raise Http404 from exc


@require_safe
def community_index(request):
    form = FinderForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    rows = list(public_communities(q)[:FINDER_LIMIT]) if q else []
    return render(
        request,
        "community/public_index.html",
        {"form": form, "q": q, "communities": rows, "searched": bool(q)},
    )


@require_safe
def community(request, code):
    area = _community(code)
    context = {"community": area, "officers": public_officers(area)}
    if public_is_large_enough(area):
        context.update(
            large_enough=True,
            colour_words=public_colour_words(area),
            trend=public_trend(area, today=timezone.localdate()),
            notices=public_notices(area),
        )
    return render(request, "community/public_community.html", context)


def _proven_page(request, area, mobile, context, *, refused=""):
    """The page for a proven mobile: subscribed or not, and why a subscription was refused."""
    context.update(
        mobile_masked=mask_mobile(mobile),
        subscribed=subscription_active(area, mobile),
        refused=refused,
    )
    return render(request, "community/public_subscribe.html", context)


def subscribe_page(request, code):
    area = _community(code)
    subject = area.code
    purpose = OtpPurpose.NOTICE_SUBSCRIBE
    mobile = session_verified_mobile(request.session, purpose=purpose, subject=subject)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    context = {"community": area, "daily_limit": NOTICE_DAILY_LIMIT}
    refused = ""
    if mobile and action in (SUBSCRIBE, UNSUBSCRIBE, FORGET):
        # The session already proved this mobile for this community: no second code.
        try:
            if action == SUBSCRIBE:
                subscribe(area, mobile)
            elif action == UNSUBSCRIBE:
                unsubscribe(area, mobile)
            else:
                session_forget(request.session, purpose=purpose)
        except ApplicationError as exc:  # an opted-out number: say so, claim nothing
            refused = str(exc.message)
        else:
            return redirect("community_public:subscribe", code=area.code)
    if mobile:
        return _proven_page(request, area, mobile, context, refused=refused)
    form = SubscribeForm(request.POST or None)
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=purpose, subject=subject
        )
    elif request.method == "POST" and form.is_valid():
        try:
            proven = proven_mobile(
                request,
                mobile=form.cleaned_data["mobile"],
                code=form.cleaned_data["code"],
                purpose=purpose,
                subject=subject,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            try:
                if action == UNSUBSCRIBE:
                    unsubscribe(area, proven)
                else:
                    subscribe(area, proven)
            except ApplicationError as exc:  # an opted-out number: say so, claim nothing
                return _proven_page(request, area, proven, context, refused=str(exc.message))
            return redirect("community_public:subscribe", code=area.code)
    context.update(form=form, notice=notice, code_error=code_error)
    return render(request, "community/public_subscribe.html", context)

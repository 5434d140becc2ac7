"""Gateway callbacks (Kannel's get-url for incoming SMS, dlr-url for delivery reports) and
the simulated phones of demo mode. An incoming SMS is stored and answered at once; the worker's
inbound_process job reads it as a reply within seconds (minyi.perception.services.replies)."""

import hmac
import uuid
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from minyi.core.errors import ApplicationError
from minyi.core.pii import normalize_mobile
from minyi.integrations.sms.models import InboundSms, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import (
    UNSOLICITED,
    clock_in_quiet_hours,
    dlr_record,
    in_quiet_hours,
    inbound_receive,
    quiet_hours_end,
    quiet_hours_ignored,
)


def _token_ok(request) -> bool:
    given = request.GET.get("token") or request.POST.get("token") or ""
    expected = settings.SMS_CALLBACK_TOKEN
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _text(request, params) -> str:
    """The message text in the charset Kannel names (UTF-8 with mo-recode; UTF-16BE for UCS-2
    messages when mo-recode is off), so no deployment setting garbles Chinese."""
    charset = params.get("charset", "UTF-8") or "UTF-8"
    if request.method != "GET" or charset.upper().replace("-", "") == "UTF8":
        return params.get("text", "")
    try:
        raw = parse_qs(request.META.get("QUERY_STRING", ""), encoding=charset, errors="replace")
    except LookupError:  # a charset Python does not know: keep what Django decoded
        return params.get("text", "")
    return raw.get("text", [""])[0]


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_inbound(request):
    """Kannel sms-service get-url: ?token=…&id=%I&from=%p&to=%P&text=%b&charset=%C"""
    if not _token_ok(request):
        return HttpResponseForbidden("bad token")
    params = request.GET if request.method == "GET" else request.POST
    # NUL is no text any database keeps; the citizen's words around it are.
    sender = params.get("from", "").replace("\x00", "")
    text = _text(request, params).replace("\x00", "")
    message_id = params.get("id", "").replace("\x00", "")
    if not sender or not message_id:
        return HttpResponse("missing from or id", status=400, content_type="text/plain")
    inbound_receive(
        gateway="kannel",
        gateway_message_id=message_id,
        sender=sender,
        text=text,
        to_number=params.get("to", "").replace("\x00", ""),
    )
    # An empty answer: Kannel sends no reply SMS (the service sets max-messages = 0 too).
    return HttpResponse("", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_dlr(request):
    """Kannel dlr-url: ?token=…&id=<our message id>&type=%d"""
    if not _token_ok(request):
        return HttpResponseForbidden("bad token")
    try:
        message_id, dlr_type = int(request.GET["id"]), int(request.GET["type"])
    except (KeyError, ValueError):
        message_id = dlr_type = -1
    if not (0 < message_id < 2**63 and 0 <= dlr_type <= 255):
        return HttpResponse("id and type must be integers", status=400, content_type="text/plain")
    try:
        # Only what the report says, never the query (it carries the callback token).
        dlr_record(message_id=message_id, dlr_type=dlr_type, raw=f"type={dlr_type}")
    except ApplicationError as exc:
        return HttpResponse(exc.code, status=exc.status, content_type="text/plain")
    return HttpResponse("", content_type="text/plain")


# --- Demo mode: simulated phones -------------------------------------------------------------


def _demo_only():
    if not settings.DEMO_MODE or settings.SMS_BACKEND != "console":
        raise Http404


@login_required
def demo_phones(request):
    """Each demo citizen's phone: the SMS Minyi sent them, and a box to answer as they would."""
    _demo_only()
    latest = (
        OutboundSms.objects.values("to_mobile_hash").annotate(last=Max("id")).order_by("-last")[:12]
    )
    now = timezone.now()
    phones = []
    for row in latest:
        sent = list(
            OutboundSms.objects.filter(to_mobile_hash=row["to_mobile_hash"]).order_by("-id")[:5]
        )
        received = list(
            InboundSms.objects.filter(from_mobile_hash=row["to_mobile_hash"]).order_by("-id")[:5]
        )
        thread = sorted(
            [
                {"direction": "in", "at": m.created_at, "text": m.body, "waits": _waits(m, now)}
                for m in sent
            ]
            + [{"direction": "out", "at": m.received_at, "text": m.text} for m in received],
            key=lambda t: t["at"],
        )
        phones.append({"mobile": sent[0].to_mobile, "thread": thread})
    context = {
        "phones": phones,
        "quiet_start": settings.SURVEY_QUIET_START,
        "quiet_end": settings.SURVEY_QUIET_END,
        "quiet_ignored": quiet_hours_ignored(),
        # Whether the clock is in quiet hours, whatever the demo setting says.
        "quiet_now": clock_in_quiet_hours(now),
    }
    return render(request, "sms/demo_phones.html", context)


def _waits(message: OutboundSms, now):
    """When a queued message will go out, if it is held back (by quiet hours), else None."""
    if message.status != OutboundStatus.QUEUED:
        return None
    if message.not_before > now:
        return message.not_before
    if message.purpose in UNSOLICITED and in_quiet_hours(now):
        return quiet_hours_end(now)
    return None


@login_required
@require_POST
def demo_phone_reply(request):
    _demo_only()
    try:
        mobile = normalize_mobile(request.POST.get("mobile", ""))
    except ApplicationError:
        return redirect("sms:demo_phones")
    text = request.POST.get("text", "")[:500]
    if text.strip():
        # Read as a reply by the worker's next inbound_process run (`make run` starts one).
        inbound_receive(
            gateway="console", gateway_message_id=uuid.uuid4().hex, sender=mobile, text=text
        )
    return redirect("sms:demo_phones")

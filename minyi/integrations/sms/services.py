"""The outbox and the inbox: every SMS in or out goes through here, exactly once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.backends import SendOutcome, get_backend
from minyi.integrations.sms.models import (
    DeliveryReport,
    InboundSms,
    OptOut,
    OutboundSms,
    OutboundStatus,
    SmsPurpose,
)

IN_FLIGHT = (OutboundStatus.SENDING, OutboundStatus.UNKNOWN)


def sms_enqueue(*, mobile: str, body: str, purpose: str, survey=None, not_before=None):
    """Write a message to the outbox. Call it inside the transaction that decides to send, so
    the decision and the message commit or vanish together."""
    return OutboundSms.objects.create(
        to_mobile=mobile,
        to_mobile_hash=lookup_hash("mobile", mobile),
        body=body,
        purpose=purpose,
        survey=survey,
        not_before=not_before or timezone.now(),
    )


# Messages a citizen did not just ask for: never at night. Those sent with
# sms_enqueue_unsolicited also never go to a number that opted out (an appointment's
# confirmation, which the citizen asked for, is sent with sms_enqueue and waits for morning).
UNSOLICITED = (
    SmsPurpose.SURVEY,
    SmsPurpose.REMINDER,
    SmsPurpose.ACKNOWLEDGEMENT,
    SmsPurpose.INBOX_REPLY,
    SmsPurpose.POLL,
    SmsPurpose.ACTION_UPDATE,
    SmsPurpose.SAFETY_NOTICE,
    SmsPurpose.SERVICE_REMINDER,
    SmsPurpose.APPOINTMENT,
    SmsPurpose.VOLUNTEER,
)


def quiet_hours_ignored() -> bool:
    """The demo's "send now" (MINYI_DEMO_IGNORE_QUIET_HOURS): honoured only in demo mode, so
    a production instance can never text citizens at night by a stray setting."""
    return bool(settings.DEMO_MODE and settings.DEMO_IGNORE_QUIET_HOURS)


def clock_in_quiet_hours(moment) -> bool:
    """Whether `moment` falls from MINYI_SURVEY_QUIET_START_HOUR to _END_HOUR, whatever the
    demo setting says."""
    hour = timezone.localtime(moment).hour
    return hour >= settings.SURVEY_QUIET_START or hour < settings.SURVEY_QUIET_END


def in_quiet_hours(moment) -> bool:
    """No unsolicited SMS now: the clock is in the quiet hours and the demo does not say
    "send now"."""
    return not quiet_hours_ignored() and clock_in_quiet_hours(moment)


def quiet_hours_end(moment):
    """`moment`, or the end of the quiet hours it falls in (no SMS at night)."""
    local = timezone.localtime(moment)
    if not in_quiet_hours(local):
        return moment
    morning = local.replace(hour=settings.SURVEY_QUIET_END, minute=0, second=0, microsecond=0)
    if local.hour >= settings.SURVEY_QUIET_START:
        morning += timedelta(days=1)
    return morning


def is_opted_out(mobile: str) -> bool:
    return OptOut.objects.filter(mobile_hash=lookup_hash("mobile", mobile)).exists()


def sms_enqueue_unsolicited(*, mobile: str, body: str, purpose: str, now=None):
    """An SMS to a citizen who did not just ask for it (an acknowledgement, a reply from the
    inbox): never to a number that opted out (returns None), and at night it waits for the
    morning. Call it inside the transaction that decides to send."""
    if not mobile or is_opted_out(mobile):
        return None
    return sms_enqueue(
        mobile=mobile,
        body=body,
        purpose=purpose,
        not_before=quiet_hours_end(now or timezone.now()),
    )


def outbox_claim(*, limit: int = 100, now=None) -> list[int]:
    """Claim queued messages for this sender. Concurrent senders skip each other's rows.
    At night, survey messages wait (a retry or a recovered message must not go out at 3 am)."""
    now = now or timezone.now()
    queued = OutboundSms.objects.filter(status=OutboundStatus.QUEUED, not_before__lte=now)
    if in_quiet_hours(now):
        queued = queued.exclude(purpose__in=UNSOLICITED)
    with transaction.atomic():
        ids = list(
            queued.order_by("not_before", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboundSms.objects.filter(id__in=ids, status=OutboundStatus.QUEUED).update(
                status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return ids


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def outbox_send_batch(*, backend=None, limit: int = 100) -> int:
    """Claim and send one batch; returns how many were claimed. Outcomes are recorded together
    at the end of the batch; a sender killed before that leaves its messages SENDING, and
    `outbox_recover` resolves them from the gateway's reports."""
    backend = backend or get_backend()
    # A claimed batch must be through the gateway well within the lease; otherwise another
    # sender's recovery could requeue messages this one has not sent yet, and both send them.
    timeout = getattr(backend, "timeout", 0)
    if timeout:
        rounds = max(1, int(settings.SMS_CLAIM_LEASE_SECONDS // (2 * timeout)))
        limit = min(limit, getattr(backend, "concurrency", 1) * rounds)
    ids = outbox_claim(limit=limit)
    messages = list(OutboundSms.objects.filter(id__in=ids).order_by("id"))
    # A gateway answers each request only after queueing it (~10 ms for Kannel with a
    # delivery report requested), so requests within a batch go out in parallel.
    workers = min(getattr(backend, "concurrency", 1), len(messages)) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(zip(messages, pool.map(backend.send, messages), strict=True))
    now = timezone.now()
    with transaction.atomic():
        for message, result in results:
            _record_outcome(message, result, backend.name, now)
    return len(ids)


def _record_outcome(message, result, backend_name: str, now) -> None:
    # Only a row still SENDING changes: a delivery report may have arrived first.
    sending = OutboundSms.objects.filter(pk=message.pk, status=OutboundStatus.SENDING)
    fields = {"backend": backend_name, "gateway_reply": result.detail[:200]}
    match result.outcome:
        case SendOutcome.DELIVERED:
            sending.update(status=OutboundStatus.DELIVERED, sent_at=now, delivered_at=now, **fields)
        case SendOutcome.ACCEPTED:
            sending.update(status=OutboundStatus.SENT, sent_at=now, **fields)
        case SendOutcome.UNKNOWN:
            sending.update(status=OutboundStatus.UNKNOWN, last_error=result.detail[:300], **fields)
        case SendOutcome.RETRY if message.attempts < settings.SMS_MAX_ATTEMPTS:
            sending.update(
                status=OutboundStatus.QUEUED,
                last_error=result.detail[:300],
                not_before=now + _backoff(message.attempts),
                **fields,
            )
        case _:
            sending.update(status=OutboundStatus.FAILED, last_error=result.detail[:300], **fields)


def outbox_recover(*, now=None) -> dict:
    """Resolve messages whose sender died. SENDING past the lease becomes UNKNOWN; UNKNOWN
    past the grace period with no delivery report is queued again (the gateway reports every
    message it accepted, so silence means it never got it)."""
    now = now or timezone.now()
    stuck = OutboundSms.objects.filter(
        status=OutboundStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.SMS_CLAIM_LEASE_SECONDS),
    ).update(status=OutboundStatus.UNKNOWN, last_error="sender stopped before recording outcome")
    requeued = OutboundSms.objects.filter(
        status=OutboundStatus.UNKNOWN,
        claimed_at__lt=now - timedelta(seconds=settings.SMS_UNKNOWN_GRACE_SECONDS),
        reports__isnull=True,
    ).update(status=OutboundStatus.QUEUED)  # not_before is already past: next in line
    # A one-time code nobody could use any more is not sent late (a gateway outage).
    stale_codes = OutboundSms.objects.filter(
        status=OutboundStatus.QUEUED,
        purpose=SmsPurpose.OTP,
        created_at__lt=now - timedelta(minutes=settings.OTP_TTL_MINUTES),
    ).update(status=OutboundStatus.FAILED, last_error="one-time code expired before sending")
    return {"unknown": stuck, "requeued": requeued, "stale_codes": stale_codes}


# Kannel's report types; several may arrive for one message, in any order.
DLR_DELIVERED, DLR_FAILED, DLR_BUFFERED, DLR_ACCEPTED, DLR_REJECTED = 1, 2, 4, 8, 16


def dlr_record(*, message_id: int, dlr_type: int, raw: str = "") -> bool:
    """Record a delivery report once; returns False for a repeat. Moves the message forward
    (never back: a late "accepted" does not undo "delivered"). The report row and the status
    change commit together, so a repeat can never find one without the other."""
    if not OutboundSms.objects.filter(pk=message_id).exists():
        raise ApplicationError("unknown_message", "no such message", status=404)
    with transaction.atomic():
        try:
            with transaction.atomic():
                DeliveryReport.objects.create(
                    message_id=message_id, dlr_type=dlr_type, raw=raw[:300]
                )
        except IntegrityError:
            return False
        now = timezone.now()
        rows = OutboundSms.objects.filter(pk=message_id)
        if dlr_type & DLR_DELIVERED:
            rows.exclude(status=OutboundStatus.DELIVERED).update(
                status=OutboundStatus.DELIVERED,
                delivered_at=now,
                sent_at=Coalesce("sent_at", Value(now)),
            )
        elif dlr_type & (DLR_FAILED | DLR_REJECTED):
            rows.exclude(status=OutboundStatus.DELIVERED).update(status=OutboundStatus.FAILED)
        elif dlr_type & (DLR_ACCEPTED | DLR_BUFFERED):
            rows.filter(Q(status__in=IN_FLIGHT) | Q(status=OutboundStatus.QUEUED)).update(
                status=OutboundStatus.SENT, sent_at=now
            )
    return True


def inbound_receive(
    *,
    gateway: str,
    gateway_message_id: str,
    sender: str,
    text: str,
    to_number: str = "",
    received_at=None,
) -> tuple[InboundSms, bool]:
    """Store an incoming message before anything else; a repeat from the gateway returns the
    stored one with created=False. A sender that is not a mobile number is kept as given."""
    gateway_message_id = gateway_message_id[:100]
    try:
        mobile = normalize_mobile(sender)
        raw = ""
    except ApplicationError:
        mobile, raw = "", sender[:40]
    try:
        with transaction.atomic():
            inbound = InboundSms.objects.create(
                gateway=gateway,
                gateway_message_id=gateway_message_id,
                from_mobile=mobile,
                from_mobile_hash=lookup_hash("mobile", mobile) if mobile else "",
                from_raw=raw,
                to_number=to_number[:40],
                text=text,
                received_at=received_at or timezone.now(),
            )
    except IntegrityError:  # the same message arriving twice at the same moment
        return InboundSms.objects.get(gateway=gateway, gateway_message_id=gateway_message_id), False
    return inbound, True


def optout_add(*, mobile_hash: str, source: str, inbound=None) -> bool:
    """Add a number to the opt-out list and withdraw every survey message still waiting for
    it, in the same transaction."""
    with transaction.atomic():
        _, created = OptOut.objects.get_or_create(
            mobile_hash=mobile_hash, defaults={"source": source, "inbound": inbound}
        )
        OutboundSms.objects.filter(
            to_mobile_hash=mobile_hash, status=OutboundStatus.QUEUED, purpose__in=UNSOLICITED
        ).update(status=OutboundStatus.FAILED, last_error="opted out before sending")
    return created

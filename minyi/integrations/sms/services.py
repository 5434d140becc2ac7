"""The outbox and the inbox: every SMS in or out goes through here, exactly once."""

import time
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.core.pii import decrypt, lookup_hash, normalize_mobile
from minyi.integrations.sms.backends import SendOutcome, SendResult, get_backend
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


def _claim_sql(connection, *, quiet: bool) -> str:
    """One statement that claims due messages and returns them. On PostgreSQL the rows another
    sender is claiming at the same moment are skipped, not waited for; SQLite has one writer
    at a time, so the statement is its own lock."""
    table = connection.ops.quote_name(OutboundSms._meta.db_table)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    night = f" AND purpose NOT IN ({', '.join(['%s'] * len(UNSOLICITED))})" if quiet else ""
    # MATERIALIZED: the claimed ids are chosen once (PostgreSQL may otherwise run a LIMIT …
    # SKIP LOCKED subquery again during the UPDATE, and claim more than the limit).
    return (
        f"WITH due AS MATERIALIZED (SELECT id FROM {table} WHERE status = %s "  # noqa: S608 - the model's table, values are parameters
        f"AND not_before <= %s{night} ORDER BY not_before, id LIMIT %s{lock}) "
        f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 "
        "WHERE status = %s AND id IN (SELECT id FROM due) "
        "RETURNING id, to_mobile, body, attempts"
    )


@dataclass
class SendTiming:
    """Where a sender's time went, in seconds (`http` summed over the request threads)."""

    sent: int = 0  # outcomes recorded
    claims: int = 0
    claim: float = 0.0  # the claim statements
    decrypt: float = 0.0  # the claimed mobiles
    http: float = 0.0  # requests to the gateway, summed over the threads
    wait: float = 0.0  # the sender waiting for the gateway's answers
    record: float = 0.0  # recording outcomes
    elapsed: float = 0.0

    def since(self, earlier: "SendTiming") -> "SendTiming":
        return SendTiming(
            **{name: value - getattr(earlier, name) for name, value in vars(self).items()}
        )

    def as_dict(self) -> dict:
        # Floats only: a positive count would tell the worker the run found work.
        return {name: round(float(value), 3) for name, value in vars(self).items()}


def _claim(*, limit: int, now, timing: SendTiming | None = None) -> list[OutboundSms]:
    started = time.perf_counter()
    connection = connections[router.db_for_write(OutboundSms)]
    quiet = in_quiet_hours(now)
    queued = OutboundStatus.QUEUED
    at = connection.ops.adapt_datetimefield_value(now)
    params = [
        queued,
        at,
        *(UNSOLICITED if quiet else ()),
        limit,
        OutboundStatus.SENDING,
        at,
        queued,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection, quiet=quiet), params)
        rows = sorted(cursor.fetchall())
    claimed = time.perf_counter()
    # Only the mobile is encrypted; the claimed rows are not loaded again.
    messages = [
        OutboundSms(id=pk, to_mobile=decrypt(mobile), body=body, attempts=attempts,
                    status=OutboundStatus.SENDING, claimed_at=now)
        for pk, mobile, body, attempts in rows
    ]  # fmt: skip
    if timing is not None:
        timing.claims += 1
        timing.claim += claimed - started
        timing.decrypt += time.perf_counter() - claimed
    return messages


def outbox_claim(*, limit: int = 100, now=None) -> list[int]:
    """Claim queued messages for this sender; returns their ids. Concurrent senders skip each
    other's rows. At night, survey messages wait (a retry or a recovered message must not go
    out at 3 am)."""
    return [message.pk for message in _claim(limit=limit, now=now or timezone.now())]


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _in_flight_cap(backend, concurrency: int, batch: int) -> int:
    """How many claimed messages may wait for the gateway at once. Each must be through well
    within the lease, even if every request ahead of it times out; otherwise another sender's
    recovery could requeue a message this one has not sent yet, and both would send it."""
    timeout = getattr(backend, "timeout", 0)
    if not timeout:
        return max(batch, concurrency)
    rounds = max(1, int(settings.SMS_CLAIM_LEASE_SECONDS // (2 * timeout)))
    return concurrency * rounds


# Outcomes are recorded when this many have come back, or this long after the last recording.
RECORD_EVERY, RECORD_AFTER_SECONDS = 64, 0.25


def outbox_send_stream(
    *, backend=None, limit: int = 10_000, batch: int | None = None, timing=None, stop=None
) -> int:
    """Send due messages as one stream until none is left or `limit` were claimed; returns how
    many were claimed. `concurrency` requests stay on the wire: the next messages are claimed
    (one statement) while earlier ones are in flight, never more than the lease allows, and
    outcomes are recorded as they come back, one UPDATE for all alike. A sender killed midway
    leaves its unrecorded messages SENDING; `outbox_recover` resolves them from the gateway's
    reports. `stop()` true: claim no more, finish what is in flight."""
    backend = backend or get_backend()
    timing = timing if timing is not None else SendTiming()
    concurrency = max(1, getattr(backend, "concurrency", 1))
    batch = batch or settings.SMS_SEND_BATCH
    cap = _in_flight_cap(backend, concurrency, batch)
    started = recorded_at = time.perf_counter()
    claimed, exhausted = 0, False
    in_flight: set = set()
    done: list[tuple[OutboundSms, SendResult]] = []

    def send(message):
        sending = time.perf_counter()
        result = backend.send(message)
        return message, result, time.perf_counter() - sending

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        try:
            while True:
                room = min(cap - len(in_flight), batch, limit - claimed)
                exhausted = exhausted or bool(stop and stop())
                if not exhausted and room >= min(concurrency, limit - claimed) and room > 0:
                    messages = _claim(limit=room, now=timezone.now(), timing=timing)
                    claimed += len(messages)
                    exhausted = len(messages) < room or claimed >= limit
                    in_flight.update(pool.submit(send, message) for message in messages)
                if not in_flight:
                    break
                waiting = time.perf_counter()
                finished, in_flight = wait(
                    in_flight, timeout=RECORD_AFTER_SECONDS, return_when=FIRST_COMPLETED
                )
                timing.wait += time.perf_counter() - waiting
                for future in finished:
                    message, result, seconds = future.result()
                    done.append((message, result))
                    timing.http += seconds
                if len(done) >= RECORD_EVERY or (
                    done and time.perf_counter() - recorded_at >= RECORD_AFTER_SECONDS
                ):
                    _record_outcomes(done, backend.name, timing)
                    done, recorded_at = [], time.perf_counter()
        finally:
            # Record what came back, also when a request raised; the rest stays SENDING.
            _record_outcomes(done, backend.name, timing)
    timing.elapsed += time.perf_counter() - started
    return claimed


def outbox_send_batch(*, backend=None, limit: int = 100) -> int:
    """Claim and send at most `limit` messages; returns how many were claimed."""
    return outbox_send_stream(backend=backend, limit=limit, batch=limit)


def _outcome_fields(message, result, backend_name: str, now) -> dict:
    fields = {"backend": backend_name, "gateway_reply": result.detail[:200]}
    match result.outcome:
        case SendOutcome.DELIVERED:
            return {
                "status": OutboundStatus.DELIVERED,
                "sent_at": now,
                "delivered_at": now,
                **fields,
            }
        case SendOutcome.ACCEPTED:
            return {"status": OutboundStatus.SENT, "sent_at": now, **fields}
        case SendOutcome.UNKNOWN:
            return {"status": OutboundStatus.UNKNOWN, "last_error": result.detail[:300], **fields}
        case SendOutcome.RETRY if message.attempts < settings.SMS_MAX_ATTEMPTS:
            return {
                "status": OutboundStatus.QUEUED,
                "last_error": result.detail[:300],
                "not_before": now + _backoff(message.attempts),
                **fields,
            }
        case _:
            return {"status": OutboundStatus.FAILED, "last_error": result.detail[:300], **fields}


def _record_outcomes(done, backend_name: str, timing: SendTiming | None = None) -> None:
    """One UPDATE for each kind of outcome (a gateway answers all it accepts alike). Only rows
    still SENDING change: a delivery report may have arrived first."""
    if not done:
        return
    started = time.perf_counter()
    now = timezone.now()
    alike = defaultdict(list)
    for message, result in done:
        fields = _outcome_fields(message, result, backend_name, now)
        alike[tuple(sorted(fields.items()))].append(message.pk)
    with transaction.atomic():
        for fields, ids in alike.items():
            OutboundSms.objects.filter(pk__in=ids, status=OutboundStatus.SENDING).update(
                **dict(fields)
            )
    if timing is not None:
        timing.sent += len(done)
        timing.record += time.perf_counter() - started


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
    """Store an incoming message before anything else, in one INSERT … ON CONFLICT DO NOTHING:
    a repeat from the gateway (even at the same moment) inserts nothing and returns the stored
    one with created=False. A sender that is not a mobile number is kept as given. Reading it
    as a reply is the worker's job (inbound_process)."""
    gateway_message_id = gateway_message_id[:100]
    try:
        mobile = normalize_mobile(sender)
        raw = ""
    except ApplicationError:
        mobile, raw = "", sender[:40]
    inbound = InboundSms(
        gateway=gateway,
        gateway_message_id=gateway_message_id,
        from_mobile=mobile,
        from_mobile_hash=lookup_hash("mobile", mobile) if mobile else "",
        from_raw=raw,
        to_number=to_number[:40],
        text=text,
        received_at=received_at or timezone.now(),
    )
    connection = transaction.get_connection()
    fields = [f for f in InboundSms._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Identifiers are the model's own; every value is a parameter.
    sql = (
        f"INSERT INTO {InboundSms._meta.db_table} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT (gateway, gateway_message_id) DO NOTHING RETURNING id"
    )
    values = [f.get_db_prep_save(f.pre_save(inbound, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:  # a repeat
        return InboundSms.objects.get(gateway=gateway, gateway_message_id=gateway_message_id), False
    inbound.pk = row[0]
    inbound._state.adding, inbound._state.db = False, connection.alias
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

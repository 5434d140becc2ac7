"""Demo: service reminders by SMS (办事提醒, issue 17 item 3) in the demo city.

The four templates (kept as they are when staff already edited them); a few hundred due items
(vehicle inspection, licence renewal, ID expiry, unpaid violations) across the city's stations
and traffic brigades, pushed 40 days ago by a business system (source "demo") through the real
ingest; two citizens who opted out (one of vehicle reminders, one of all); then the real sweep
run at 10:00 on each of the last 35 days and once `now`, so the reminders are decided as they
would have been. Messages planned before today are marked as the gateway answered them (most
delivered, a few without a report, a few failed); today's wait in the outbox for the worker.

Every date is relative to `now`. `load` is idempotent: a second call changes nothing.
"""

import random
from collections import Counter
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from minyi.demo.city_plan import DEFAULT_SEED
from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.reminders.items import items_ingest
from minyi.reminders.models import DueItem, ReminderKind, ReminderSend, ReminderTemplate
from minyi.reminders.sending import (
    DEFAULT_LEADS,
    DEFAULT_TEXTS,
    reminder_optout_add,
    reminders_send_due,
)

SOURCE = "demo"
ITEMS = 320
HISTORY_DAYS = 35
PUSHED_DAYS_AGO = 40
KIND_WEIGHTS = {
    ReminderKind.VEHICLE_INSPECTION: 5,
    ReminderKind.LICENCE_RENEWAL: 2,
    ReminderKind.ID_EXPIRY: 2,
    ReminderKind.UNPAID_VIOLATION: 3,
}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
OPTED_OUT_VEHICLE = "13700000001"  # opted out of vehicle inspection reminders
OPTED_OUT_ALL = "13700000002"  # opted out of every service reminder


def _plate(rng: random.Random) -> str:
    tail = "".join(rng.choice(PLATE_LETTERS + "0123456789") for _ in range(3))
    return f"浙D{rng.choice(PLATE_LETTERS)}{rng.randint(0, 9)}{tail}"


def _id_number(rng: random.Random) -> str:
    return f"330602{rng.randint(1950, 2005)}0101{rng.randint(0, 9999):04d}"


def _label(kind: str, rng: random.Random) -> str:
    if kind in (ReminderKind.VEHICLE_INSPECTION, ReminderKind.UNPAID_VIOLATION):
        return _plate(rng)
    return _id_number(rng)  # masked on ingest: 尾号1234


def _at_ten(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


def demo_exists() -> bool:
    return DueItem.objects.filter(source=SOURCE).exists()


def load(now=None, *, seed: int = DEFAULT_SEED) -> dict:
    """Build the reminders demo once; returns its figures (empty when it already exists or
    the demo city has no stations)."""
    now = now or timezone.now()
    if demo_exists():
        return {}
    units = list(
        OrgUnit.objects.filter(
            kind__in=(UnitKind.POLICE_STATION, UnitKind.TRAFFIC_BRIGADE), is_active=True
        ).order_by("path")
    )
    if not units:
        return {}
    rng = random.Random(f"{seed}:reminders")  # noqa: S311 - synthetic data, not secrets
    with transaction.atomic():
        for kind in ReminderKind.values:
            ReminderTemplate.objects.get_or_create(
                kind=kind,
                defaults={"text": DEFAULT_TEXTS[kind], "lead_days": DEFAULT_LEADS[kind]},
            )
        pushed = now - timedelta(days=PUSHED_DAYS_AGO)
        today = timezone.localdate(now)
        kinds = [k for k, w in KIND_WEIGHTS.items() for _ in range(w)]
        items = []
        for i in range(ITEMS):
            kind = rng.choice(kinds)
            # Due from a month ago (reminded, then dealt with) to three months ahead.
            due = today + timedelta(days=rng.randint(-30, 90))
            if i < 4:
                mobile = OPTED_OUT_VEHICLE if i < 2 else OPTED_OUT_ALL
            else:
                mobile = f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"
            items.append(
                {
                    "source": SOURCE,
                    "external_id": f"{kind[:3]}-{i:05d}",
                    "kind": kind,
                    "unit": rng.choice(units).code,
                    "mobile": mobile,
                    "item": _label(kind, rng),
                    "due_date": due,
                }
            )
        items_ingest(items=items, scope_unit=None, now=pushed)
        reminder_optout_add(
            mobile=OPTED_OUT_VEHICLE,
            kind=ReminderKind.VEHICLE_INSPECTION,
            source=SOURCE,
            now=pushed,
        )
        reminder_optout_add(mobile=OPTED_OUT_ALL, source=SOURCE, now=pushed)
        decided: Counter = Counter()
        for back in range(HISTORY_DAYS, 0, -1):
            decided.update(reminders_send_due(now=_at_ten(today - timedelta(days=back))))
        decided.update(reminders_send_due(now=now))
        _backdate_messages()
        delivery = _gateway_answers(rng, before=_at_ten(today) - timedelta(hours=10))
    return {"items": ITEMS, **decided, **delivery}


def _backdate_messages() -> None:
    """The outbox rows were written just now; each was decided by a sweep of the past (at
    10:00, when it is also planned to go out): date it so, never after `sent_at`."""
    sends = ReminderSend.objects.filter(item__source=SOURCE, message__isnull=False)
    OutboundSms.objects.filter(pk__in=sends.values("message_id")).update(
        created_at=Subquery(sends.filter(message=OuterRef("pk")).values("created_at")[:1])
    )


def _gateway_answers(rng: random.Random, *, before) -> dict:
    """What the gateway said about the reminders planned before today."""
    ids = list(
        ReminderSend.objects.filter(
            item__source=SOURCE, message__isnull=False, planned_at__lt=before
        ).values_list("message_id", "planned_at")
    )
    outcome: Counter = Counter()
    for message_id, planned in ids:
        roll = rng.random()
        sent_at = planned + timedelta(seconds=rng.randint(2, 90))
        if roll < 0.92:
            fields = {
                "status": OutboundStatus.DELIVERED,
                "sent_at": sent_at,
                "delivered_at": sent_at + timedelta(seconds=rng.randint(1, 30)),
            }
        elif roll < 0.97:
            fields = {"status": OutboundStatus.SENT, "sent_at": sent_at}
        else:
            fields = {"status": OutboundStatus.FAILED, "last_error": "DLR: undeliverable"}
        OutboundSms.objects.filter(pk=message_id).update(
            backend="demo", attempts=1, claimed_at=planned, **fields
        )
        outcome[fields["status"]] += 1
    return {f"sms_{k}": v for k, v in outcome.items()}

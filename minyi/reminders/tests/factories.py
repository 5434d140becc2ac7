"""Test data for service reminders: templates and due items, dated from an explicit `now`."""

from datetime import datetime, timedelta

from django.utils import timezone

from minyi.core.pii import lookup_hash
from minyi.reminders.models import DueItem, ReminderKind, ReminderTemplate
from minyi.reminders.sending import DEFAULT_TEXTS


def local(year, month, day, hour=10, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


# A weekday morning, well inside the sending hours.
MORNING = local(2026, 11, 10, 10)


def make_template(kind=ReminderKind.VEHICLE_INSPECTION, leads="30,7", active=True):
    template, _ = ReminderTemplate.objects.update_or_create(
        kind=kind, defaults={"text": DEFAULT_TEXTS[kind], "lead_days": leads, "active": active}
    )
    return template


def make_item(
    unit,
    *,
    external_id="X1",
    mobile="13800001111",
    due_in=7,
    now=MORNING,
    kind=ReminderKind.VEHICLE_INSPECTION,
    label="浙D·***12",
    source="jgj",
):
    return DueItem.objects.create(
        source=source,
        external_id=external_id,
        kind=kind,
        unit=unit,
        mobile=mobile,
        mobile_hash=lookup_hash("mobile", mobile),
        item_label=label,
        due_date=timezone.localdate(now) + timedelta(days=due_in),
        created_at=now,
    )

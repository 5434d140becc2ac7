"""The reminders demo (minyi/demo/reminders.py): templates, a few hundred items, reminders
decided by the real sweep and mostly delivered, opt-outs honoured, nothing twice, idempotent."""

import pytest

from minyi.core.pii import lookup_hash
from minyi.demo.reminders import ITEMS, OPTED_OUT_ALL, load
from minyi.integrations.sms.models import OutboundSms, OutboundStatus
from minyi.reminders.models import DueItem, ReminderSend, ReminderTemplate, SendStatus
from minyi.reminders.tests.factories import local


@pytest.mark.django_db
@pytest.mark.parametrize("hour", [10, 23])
def test_the_demo_loads_once_and_reads_right(world, hour):
    now = local(2026, 11, 10, hour)
    figures = load(now=now)
    assert figures["items"] == ITEMS == DueItem.objects.count()
    assert ReminderTemplate.objects.filter(active=True).count() == 4
    assert figures["sent"] > 100 and figures["opted_out"] >= 2
    assert OutboundSms.objects.filter(status=OutboundStatus.DELIVERED).count() > 50
    assert not OutboundSms.objects.filter(not_before__gt=local(2026, 11, 11, 8)).exists()
    # Nothing reaches the numbers that opted out, no item is reminded twice at one lead
    opted = lookup_hash("mobile", OPTED_OUT_ALL)
    assert ReminderSend.objects.filter(mobile_hash=opted).exists()
    assert not ReminderSend.objects.filter(mobile_hash=opted, status=SendStatus.SENT).exists()
    assert ReminderSend.objects.count() == len(
        set(ReminderSend.objects.values_list("item_id", "lead_days"))
    )
    # Each message is dated when its sweep decided it (10:00 of its day, or `now`), never
    # after it was sent
    for send in ReminderSend.objects.filter(message__isnull=False).select_related("message"):
        message = send.message
        assert message.created_at == send.created_at <= send.planned_at
        assert message.created_at <= now
        assert message.sent_at is None or message.created_at <= message.sent_at
    assert OutboundSms.objects.filter(created_at__lt=local(2026, 11, 1)).exists()
    before = (DueItem.objects.count(), ReminderSend.objects.count(), OutboundSms.objects.count())
    assert load(now=now) == {}
    after = (DueItem.objects.count(), ReminderSend.objects.count(), OutboundSms.objects.count())
    assert before == after

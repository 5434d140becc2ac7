"""The reminder sweep (reminders_send_due): at the lead times, through the outbox, never at
night, never after an opt-out, never twice, within the per-mobile limits."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OptOut, OutboundSms, OutboundStatus, SmsPurpose
from minyi.integrations.sms.services import optout_add, outbox_claim
from minyi.reminders.models import ReminderKind, ReminderSend, SendStatus, SkipReason
from minyi.reminders.sending import reminder_optout_add, reminders_send_due
from minyi.reminders.tests.factories import MORNING, local, make_item, make_template

MOBILE = "13800001111"


@pytest.mark.django_db
def test_a_due_item_is_reminded_once_at_each_lead(world):
    # Given a template with leads 30 and 7 and an item due in 30 days
    make_template(leads="30,7")
    item = make_item(world.station_a2, due_in=30)
    # When the sweep runs today, again today, and on the days until the due date
    assert reminders_send_due(now=MORNING) == {"sent": 1}
    assert reminders_send_due(now=MORNING + timedelta(hours=1)) == {}
    for day in range(1, 31):
        reminders_send_due(now=MORNING + timedelta(days=day))
    # Then exactly one reminder at 30 days and one at 7, each with its outbox message
    sends = list(ReminderSend.objects.filter(item=item).order_by("-lead_days"))
    assert [(s.lead_days, s.status) for s in sends] == [(30, "sent"), (7, "sent")]
    messages = OutboundSms.objects.filter(purpose=SmsPurpose.SERVICE_REMINDER)
    assert messages.count() == 2
    body = sends[0].message.body
    assert "浙D·***12" in body and "2026年12月10日" in body and "/c/reminders/stop/" in body
    assert MOBILE not in body


@pytest.mark.django_db
def test_an_item_imported_late_gets_only_the_nearest_lead(world):
    make_template(leads="30,7")
    item = make_item(world.station_a2, due_in=5)
    reminders_send_due(now=MORNING)
    reminders_send_due(now=MORNING + timedelta(days=1))
    assert list(ReminderSend.objects.filter(item=item).values_list("lead_days", flat=True)) == [7]


@pytest.mark.django_db
def test_nothing_before_the_lead_after_the_due_date_or_when_cancelled(world):
    make_template(leads="7")
    make_item(world.station_a2, external_id="far", due_in=8)
    cancelled = make_item(world.station_a2, external_id="c", due_in=3)
    cancelled.cancelled = True
    cancelled.save()
    make_item(world.station_a2, external_id="past", due_in=-1)
    assert reminders_send_due(now=MORNING) == {}


@pytest.mark.django_db
def test_none_at_night_the_reminder_waits_in_the_outbox(world):
    # Given an item whose reminder falls due while the sweep runs at 23:00
    make_template(leads="7")
    make_item(world.station_a2, due_in=7, now=local(2026, 11, 10, 23))
    night = local(2026, 11, 10, 23)
    # When the sweep decides it at night
    assert reminders_send_due(now=night) == {"sent": 1}
    message = OutboundSms.objects.get()
    # Then the message waits for the morning: not claimed at night, claimed after 08:00
    assert message.not_before == local(2026, 11, 11, 8)
    assert outbox_claim(now=night + timedelta(minutes=30)) == []
    assert outbox_claim(now=local(2026, 11, 11, 3)) == []
    assert outbox_claim(now=local(2026, 11, 11, 8, 1)) == [message.pk]


@pytest.mark.django_db
def test_even_a_message_due_earlier_is_held_at_night(world):
    make_template(leads="7")
    make_item(world.station_a2, due_in=7)
    reminders_send_due(now=MORNING)
    message = OutboundSms.objects.get()
    assert outbox_claim(now=local(2026, 11, 10, 22)) == []
    assert outbox_claim(now=local(2026, 11, 10, 11)) == [message.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("opt_kind", "reason"),
    [
        (ReminderKind.VEHICLE_INSPECTION, SkipReason.OPTED_OUT),
        ("", SkipReason.OPTED_OUT),
        ("td", SkipReason.SMS_OPTED_OUT),
    ],
)
def test_none_after_opt_out(world, opt_kind, reason):
    # Given a mobile that opted out of vehicle reminders, of all reminders, or of all SMS (TD)
    make_template(ReminderKind.VEHICLE_INSPECTION, leads="7")
    make_template(ReminderKind.ID_EXPIRY, leads="7")
    vehicle = make_item(world.station_a2, external_id="v", due_in=7)
    id_card = make_item(
        world.station_a2, external_id="i", due_in=7, kind=ReminderKind.ID_EXPIRY, label="尾号1234"
    )
    if opt_kind == "td":
        optout_add(mobile_hash=lookup_hash("mobile", MOBILE), source="sms")
    else:
        reminder_optout_add(mobile=MOBILE, kind=opt_kind)
    # When the sweep runs
    reminders_send_due(now=MORNING)
    # Then no message for the kinds opted out of, and the decision is recorded with its reason
    skipped = ReminderSend.objects.get(item=vehicle)
    assert (skipped.status, skipped.reason, skipped.message_id) == ("skipped", reason, None)
    other = ReminderSend.objects.get(item=id_card)
    if opt_kind == ReminderKind.VEHICLE_INSPECTION:
        assert other.status == SendStatus.SENT and other.message is not None
        assert OutboundSms.objects.count() == 1
    else:
        assert other.status == SendStatus.SKIPPED
        assert OutboundSms.objects.count() == 0


@pytest.mark.django_db
def test_opting_out_withdraws_a_reminder_still_waiting(world):
    make_template(leads="7")
    item = make_item(world.station_a2, due_in=7)
    reminders_send_due(now=local(2026, 11, 10, 23))  # waits for the morning
    reminder_optout_add(mobile=MOBILE, kind=ReminderKind.VEHICLE_INSPECTION)
    message = OutboundSms.objects.get()
    assert message.status == OutboundStatus.FAILED
    assert outbox_claim(now=local(2026, 11, 11, 9)) == []
    send = ReminderSend.objects.get(item=item)
    assert (send.status, send.reason) == ("skipped", "opted_out")


@pytest.mark.django_db
def test_the_per_mobile_rate_limit(world, settings):
    # Given four items of one mobile due the same day, and the default limits (2 a day, 6 in 30)
    make_template(leads="7")
    for i in range(4):
        make_item(world.station_a2, external_id=f"r{i}", due_in=7)
    make_item(world.station_a2, external_id="other", due_in=7, mobile="13900002222")
    # When the sweep runs
    counts = reminders_send_due(now=MORNING)
    # Then two reach the mobile today, two are skipped (rate-limited), the other mobile gets one
    assert counts == {"sent": 3, "rate_limited": 2}
    # And the 30-day limit holds across days
    settings.REMINDER_MAX_PER_DAY = 5
    settings.REMINDER_MAX_PER_30_DAYS = 3
    for i in range(4):
        make_item(world.station_a2, external_id=f"n{i}", due_in=6)
    counts = reminders_send_due(now=MORNING + timedelta(days=1))
    # (yesterday's two rate-limited ones are decided again: six for the mobile, room for one)
    assert counts == {"sent": 1, "rate_limited": 5}


@pytest.mark.django_db
def test_a_rate_limited_reminder_goes_out_on_a_later_day_but_never_after_the_due_date(
    world, settings
):
    # Given one reminder a day per mobile, and three items of one mobile due in two days
    settings.REMINDER_MAX_PER_DAY = 1
    make_template(leads="7")
    items = [make_item(world.station_a2, external_id=f"d{i}", due_in=2) for i in range(3)]
    # When the sweep runs today: one is sent, the other two are only put off (no record)
    assert reminders_send_due(now=MORNING) == {"sent": 1, "rate_limited": 2}
    assert ReminderSend.objects.count() == 1
    # Then tomorrow the next one goes out, and the day after (the due date) the last one
    assert reminders_send_due(now=MORNING + timedelta(days=1)) == {"sent": 1, "rate_limited": 1}
    assert reminders_send_due(now=MORNING + timedelta(days=2)) == {"sent": 1}
    sent = ReminderSend.objects.filter(status=SendStatus.SENT)
    assert sorted(sent.values_list("item_id", flat=True)) == [i.pk for i in items]
    assert OutboundSms.objects.count() == 3
    # And an item still put off on its due date is never reminded after it
    late = [make_item(world.station_a2, external_id=f"late{i}", due_in=3) for i in range(2)]
    assert reminders_send_due(now=MORNING + timedelta(days=3)) == {"sent": 1, "rate_limited": 1}
    assert reminders_send_due(now=MORNING + timedelta(days=4)) == {}
    assert ReminderSend.objects.filter(item__in=late).count() == 1


@pytest.mark.django_db
def test_items_put_off_do_not_hide_the_ones_behind_them(world, settings, monkeypatch):
    # Given small batches, and a mobile over its limit whose items come first in the order
    monkeypatch.setattr("minyi.reminders.sending.BATCH", 2)
    settings.REMINDER_MAX_PER_DAY = 1
    make_template(leads="7")
    for i in range(3):
        make_item(world.station_a2, external_id=f"a{i}", due_in=1)
    other = make_item(world.station_a2, external_id="b", due_in=2, mobile="13900002222")
    # When one sweep runs, then the next batch starts after the ones put off
    assert reminders_send_due(now=MORNING) == {"sent": 2, "rate_limited": 2}
    assert ReminderSend.objects.get(item=other).status == SendStatus.SENT


@pytest.mark.django_db
def test_decided_after_21_00_the_day_is_the_morning_it_is_sent(world):
    # Given a sweep at 22:30 on 10 November: its messages go out on 11 November at 08:00
    late = local(2026, 11, 10, 22, 30)
    template = make_template(leads="7")
    template.text = "{signature}您的机动车{item}还有{days}天到期（{due}）。"
    template.save()
    due_today = make_item(world.station_a2, external_id="today", due_in=0, now=late)
    in_seven = make_item(world.station_a2, external_id="seven", due_in=8, now=late)
    # When it runs
    assert reminders_send_due(now=late) == {"sent": 1}
    # Then nothing for the item due on the 10th (past by the time it would arrive), and the
    # item due on the 18th gets its 7-day reminder, saying 7 days
    assert not ReminderSend.objects.filter(item=due_today).exists()
    send = ReminderSend.objects.get(item=in_seven)
    assert send.lead_days == 7 and send.planned_at == local(2026, 11, 11, 8)
    assert "还有7天到期（2026年11月18日）" in send.message.body
    assert send.message.not_before == local(2026, 11, 11, 8)


@pytest.mark.django_db
def test_an_inactive_template_sends_nothing(world):
    make_template(leads="7", active=False)
    make_item(world.station_a2, due_in=7)
    assert reminders_send_due(now=MORNING) == {}
    assert not ReminderSend.objects.exists()


@pytest.mark.django_db
def test_the_limit_bounds_one_run_and_the_next_run_continues(world):
    make_template(leads="7")
    for i in range(5):
        make_item(world.station_a2, external_id=f"l{i}", due_in=7, mobile=f"1370000000{i}")
    assert reminders_send_due(now=MORNING, limit=3) == {"sent": 3}
    assert reminders_send_due(now=MORNING, limit=3) == {"sent": 2}
    assert OutboundSms.objects.count() == ReminderSend.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_decide_each_reminder_once(world):
    # Given 300 items due, with different mobiles
    make_template(leads="7")
    for i in range(300):
        make_item(world.station_a2, external_id=f"c{i}", due_in=7, mobile=f"136{i:08d}")
    results, errors = [], []

    def sweep():
        try:
            results.append(reminders_send_due(now=MORNING))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    # When two sweeps run at the same moment
    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reminders_send_due(now=MORNING)  # and a third after them
    # Then every item has exactly one decision and one message
    assert not errors
    assert ReminderSend.objects.count() == 300
    assert sum(r.get("sent", 0) for r in results) == 300
    assert OutboundSms.objects.count() == 300
    assert set(ReminderSend.objects.values_list("message_id", flat=True)) == set(
        OutboundSms.objects.values_list("pk", flat=True)
    )
    assert not OptOut.objects.exists()

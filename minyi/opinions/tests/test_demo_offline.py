"""The offline-intake demo (minyi/demo/offline.py): every offline channel, opinions in every
state of the flow, letters printed and to print, two without any contact; loading it twice
adds nothing."""

from datetime import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from minyi.opinions.models import (
    ONLINE_CHANNELS,
    Opinion,
    OpinionChannel,
    OpinionStatus,
    ReplyBy,
)
from minyi.opinions.selectors import LETTER_DUE_Q


@pytest.mark.django_db
@override_settings(DEMO_MODE=True)
def test_offline_demo_loads_once_even_at_night():
    from minyi.demo.city import build_demo_city
    from minyi.demo.offline import load

    build_demo_city()
    # Just after midnight: whatever happened "today" must still lie before now
    now = datetime(2026, 11, 18, 0, 20, tzinfo=timezone.get_current_timezone())

    figures = load(now=now)

    keyed = Opinion.objects.filter(entered_by__isnull=False)
    assert figures["opinions"] == keyed.count() >= 20
    offline = {c for c in OpinionChannel.values if c not in ONLINE_CHANNELS}
    assert set(keyed.values_list("channel", flat=True)) == offline
    assert keyed.filter(reply_by=ReplyBy.NONE).count() >= 2
    assert keyed.filter(letter_printed_at__isnull=False).exists()
    assert keyed.filter(LETTER_DUE_Q).exists()
    statuses = set(keyed.values_list("status", flat=True))
    assert {OpinionStatus.RECEIVED, OpinionStatus.ACCEPTED, OpinionStatus.ANSWERED} <= statuses
    assert OpinionStatus.CLOSED in statuses and figures["rated"] > 0
    assert all(o.submitted_at <= now for o in keyed)
    assert all(o.answered_at <= now for o in keyed.filter(answered_at__isnull=False))

    # Loading again changes nothing
    assert load(now=now)["opinions"] == 0
    assert Opinion.objects.filter(entered_by__isnull=False).count() == figures["opinions"]

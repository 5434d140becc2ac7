"""Sweeps running at once refer each citizen's trips once: the cursor row's lock serialises
them and the referral's unique key is the last guard. Runs on SQLite (the write lock) and on
PostgreSQL (SELECT … FOR UPDATE on the cursor)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackKind
from minyi.dashboards.models import RepeatAction, RepeatReferral
from minyi.dashboards.repeat_rules import repeat_referrals_sweep, repeat_rule_save
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.dashboards.tests.factories import at, days_ago, survey
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db(transaction=True)
PAIRS = 20


def test_concurrent_sweeps_refer_each_pair_once(world, btypes):
    repeat_rule_save(
        actor=world.user("city", Role.ADMIN),
        unit=world.city,
        business_type=None,
        min_trips=3,
        window_days=30,
        action=RepeatAction.CALLBACK,
    )
    for i in range(PAIRS):
        for days in (20, 10, 2):
            survey(
                world.station_a2,
                btypes["hukou"],
                rating=2,
                occurred_at=at(days_ago(days)),
                mobile=f"1390000{i:04d}",
            )
    now = timezone.now()
    repeat_contacts_fill(now=now + timedelta(minutes=10))
    made, errors = [], []

    def sweep():
        try:
            made.append(repeat_referrals_sweep(now, batch=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert sum(made) == PAIRS
    assert RepeatReferral.objects.count() == PAIRS
    assert Callback.objects.filter(kind=CallbackKind.REPEAT).count() == PAIRS

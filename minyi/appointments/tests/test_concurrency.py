"""Two citizens book the last place of a slot at the same moment: one appointment, one
"已约满", never an overbooked slot.

PostgreSQL only: the slot's row lock under the conditional UPDATE does the work there; SQLite
serialises every writer anyway (test_services covers the rule itself)."""

import threading

import pytest
from django.db import connection

from minyi.appointments.models import Appointment, ServiceSlot
from minyi.appointments.tests.factories import book, in_days, make_slot
from minyi.core.errors import ApplicationError

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"),
]

CITIZENS = 8


def test_the_last_places_go_to_as_many_citizens_as_there_are_places(world):
    slot = make_slot(world.station_a2, in_days(3), capacity=3)
    book(slot, mobile="13900000100")  # two places left
    results, start = [None] * CITIZENS, threading.Barrier(CITIZENS)

    def work(i):
        try:
            start.wait()
            book(slot, mobile=f"139000002{i:02d}")
            results[i] = "booked"
        except ApplicationError as exc:
            results[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CITIZENS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] * 2 + ["slot_full"] * (CITIZENS - 2)
    assert ServiceSlot.objects.get(pk=slot.pk).booked == 3
    assert Appointment.objects.filter(slot=slot).count() == 3

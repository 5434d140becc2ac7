"""Two evaluators working one queue at once never get the same task (issue 4: "Two evaluators
taking the next task concurrently, 1,000 times: no task given twice").

Runs on SQLite (the write lock serialises claims) and on PostgreSQL (SKIP LOCKED and the
conditional UPDATE do). The PostgreSQL-only tests pause one claim inside its transaction, at
the point where the race would bite, and check what the other evaluator gets meanwhile.
"""

import threading
import time
from collections import Counter
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from minyi.callbacks import services
from minyi.callbacks.models import Callback, CallbackEvent, CallbackStatus
from minyi.callbacks.services import callback_claim, callback_claim_next, callback_record
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Role
from minyi.orgs.models import User
from minyi.orgs.tests.factories import UserFactory
from minyi.perception.models import ServiceEvent, Survey, SurveyStatus
from minyi.workorders.tests.factories import open_centres, pause_after, wait_until_blocked

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = 1000
on_postgresql = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"
)


def _open_callbacks(world, btypes, n: int) -> list[int]:
    """`n` open first callbacks in the 甲区 centre's queue, bulk-created with their events
    and answered surveys."""
    now = timezone.now()
    business_type = btypes["jcj_110"]
    batch = uuid4().hex[:8]
    events = ServiceEvent.objects.bulk_create(
        ServiceEvent(
            source="bulk",
            external_id=f"{batch}-{i}",
            business_type=business_type,
            unit=world.station_a2,
            citizen_mobile=f"136{i:08d}",
            citizen_mobile_hash=lookup_hash("mobile", f"136{i:08d}"),
            occurred_at=now - timedelta(hours=3),
            survey_decision="scheduled",
        )
        for i in range(n)
    )
    surveys = Survey.objects.bulk_create(
        Survey(
            event=event,
            mobile_hash=event.citizen_mobile_hash,
            unit=world.station_a2,
            business_type=business_type,
            contact_at=event.occurred_at,
            token=uuid4().hex,
            status=SurveyStatus.ANSWERED,
            send_at=now - timedelta(hours=2),
            sent_at=now - timedelta(hours=2),
            rating=4,
            answered_at=now - timedelta(hours=1),
        )
        for event in events
    )
    callbacks = Callback.objects.bulk_create(
        Callback(
            survey=survey,
            centre=world.district_a,
            unit=world.station_a2,
            created_at=now - timedelta(hours=1),
            # Some share a due time, so the queue order has ties to break.
            due_at=now + timedelta(hours=23, minutes=i % 97),
        )
        for i, survey in enumerate(surveys)
    )
    return [c.pk for c in callbacks]


def _retrying(fn, **kwargs):
    """SQLite answers "database is locked" when a writer waits longer than its busy timeout;
    a loaded test machine can get there. Every service call here is atomic, so it is safe to
    try again; PostgreSQL never needs this."""
    for attempt in range(50):
        try:
            return fn(**kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)
    return None


def test_two_evaluators_taking_the_next_task_1000_times_never_get_the_same_one(world, btypes):
    # Given 1,000 open callbacks in one centre's queue and two evaluators of that centre
    open_centres(world)
    all_ids = _open_callbacks(world, btypes, TASKS)
    first = world.user("a", Role.EVALUATOR)
    second = UserFactory(username="a_evaluator_2", role=Role.EVALUATOR, unit=world.district_a)
    taken: dict[int, list[int]] = {first.pk: [], second.pk: []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(user_pk: int) -> None:
        try:
            user = User.objects.select_related("unit").get(pk=user_pk)
            start.wait()
            while True:
                callback = _retrying(callback_claim_next, actor=user)
                if callback is None:
                    break
                assert callback.assignee_id == user.pk
                _retrying(callback_record, actor=user, callback=callback, outcome="refused")
                taken[user_pk].append(callback.pk)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    # When both take the next task and finish it until the queue is empty
    threads = [threading.Thread(target=work, args=(pk,)) for pk in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every task was handed out exactly once, and all are done
    assert errors == []
    mine, theirs = set(taken[first.pk]), set(taken[second.pk])
    assert len(mine) == len(taken[first.pk]) and len(theirs) == len(taken[second.pk])
    assert not mine & theirs
    assert mine | theirs == set(all_ids)
    claims = Counter(
        CallbackEvent.objects.filter(to_status=CallbackStatus.IN_PROGRESS).values_list(
            "callback_id", flat=True
        )
    )
    assert set(claims) == set(all_ids)
    assert set(claims.values()) == {1}
    assert not Callback.objects.exclude(status=CallbackStatus.DONE).exists()
    assignees = dict(Callback.objects.values_list("pk", "assignee_id"))
    assert {pk for pk, user in assignees.items() if user == first.pk} == mine
    assert {pk for pk, user in assignees.items() if user == second.pk} == theirs


@on_postgresql
def test_next_task_while_another_evaluator_is_mid_claim_is_the_one_after(
    world, btypes, monkeypatch
):
    # Given two open tasks, and evaluator A inside "take the next one", holding the first
    open_centres(world)
    first_id, second_id = _open_callbacks(world, btypes, 2)
    a = world.user("a", Role.EVALUATOR)
    b = UserFactory(username="a_evaluator_2", role=Role.EVALUATOR, unit=world.district_a)
    reached, release = pause_after(monkeypatch, services, "_claim", "evaluator-a")
    got = {}

    def take():
        try:
            got["a"] = callback_claim_next(actor=User.objects.get(pk=a.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=take, name="evaluator-a")
    thread.start()
    try:
        assert reached.wait(timeout=30)
        # When B takes the next task meanwhile
        got["b"] = callback_claim_next(actor=b)
    finally:
        release.set()
        thread.join()

    # Then B gets the second task (not "queue empty", not the first one)
    assert got["a"].pk == first_id
    assert got["b"] is not None and got["b"].pk == second_id


@on_postgresql
def test_a_double_click_on_take_next_holds_one_task(world, btypes, monkeypatch):
    # Given two open tasks, and evaluator A's first click inside "take the next one"
    open_centres(world)
    first_id, _second_id = _open_callbacks(world, btypes, 2)
    a = world.user("a", Role.EVALUATOR)
    reached, release = pause_after(monkeypatch, services, "_claim", "click-1")
    got = {}

    def click(name):
        try:
            got[name] = callback_claim_next(actor=User.objects.get(pk=a.pk))
        finally:
            connection.close()

    one = threading.Thread(target=click, args=("one",), name="click-1")
    two = threading.Thread(target=click, args=("two",), name="click-2")
    one.start()
    try:
        assert reached.wait(timeout=30)
        # When the second click arrives before the first has finished
        two.start()
        wait_until_blocked(two)
    finally:
        release.set()
        one.join()
        two.join()

    # Then both clicks show the same task, and A holds only that one
    assert got["one"].pk == got["two"].pk == first_id
    assert Callback.objects.filter(assignee_id=a.pk, status=CallbackStatus.IN_PROGRESS).count() == 1


@on_postgresql
def test_two_evaluators_claiming_the_same_task_from_the_list_one_is_refused(
    world, btypes, monkeypatch
):
    # Given one open task; A's claim has updated it and not yet committed
    open_centres(world)
    [task_id] = _open_callbacks(world, btypes, 1)
    a = world.user("a", Role.EVALUATOR)
    b = UserFactory(username="a_evaluator_2", role=Role.EVALUATOR, unit=world.district_a)
    reached, release = pause_after(monkeypatch, services, "_callback_event", "evaluator-a")
    outcome = {}

    def claim(name, user_pk):
        try:
            user = User.objects.select_related("unit").get(pk=user_pk)
            outcome[name] = callback_claim(actor=user, callback=Callback.objects.get(pk=task_id))
        except ApplicationError as exc:
            outcome[name] = exc.code
        finally:
            connection.close()

    thread_a = threading.Thread(target=claim, args=("a", a.pk), name="evaluator-a")
    thread_b = threading.Thread(target=claim, args=("b", b.pk), name="evaluator-b")
    thread_a.start()
    try:
        assert reached.wait(timeout=30)
        # When B claims the same task and has to wait for A's row lock
        thread_b.start()
        wait_until_blocked(thread_b)
    finally:
        release.set()
        thread_a.join()
        thread_b.join()

    # Then A holds it, B is told it is taken, and it was claimed once
    assert outcome["a"].assignee_id == a.pk
    assert outcome["b"] == "callback_taken"
    assert Callback.objects.get(pk=task_id).assignee_id == a.pk
    assert CallbackEvent.objects.filter(callback_id=task_id, to_status="in_progress").count() == 1

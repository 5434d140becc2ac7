"""The callback workbench (回访工作台): taking tasks, calling (up to 3 attempts), revealing the
citizen's number, recording reason, tags and attribution; police at fault dispatches a work
order to the unit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.callbacks.models import (
    Attribution,
    CallbackAttempt,
    CallbackEvent,
    CallbackStatus,
    CallOutcome,
)
from minyi.callbacks.selectors import callback_actions_for
from minyi.callbacks.services import (
    callback_claim,
    callback_claim_next,
    callback_record,
    callback_release,
    callback_reveal_mobile,
)
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.workdays import add_working_days
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory
from minyi.perception.models import ReasonTag
from minyi.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStatus
from minyi.workorders.tests.factories import (
    LEADER_MOBILE,
    first_callback,
    give_mobile,
    held_callback,
    open_centres,
    unsatisfied_survey,
)

pytestmark = pytest.mark.django_db
REASON = "群众反映民警接警后态度生硬，未说明处理进度。"


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


@pytest.fixture
def evaluator(world):
    return world.user("a", Role.EVALUATOR)


@pytest.fixture
def colleague(world):
    """A second evaluator of the same (甲区) centre."""
    return UserFactory(
        username="a_evaluator_2", full_name="李访评", role=Role.EVALUATOR, unit=world.district_a
    )


def _reached(actor, callback, **overrides):
    fields = {
        "outcome": CallOutcome.REACHED,
        "reason_text": REASON,
        "tags": [ReasonTag.ATTITUDE],
        "attribution": Attribution.EXPLAINED,
    }
    return callback_record(actor=actor, callback=callback, **{**fields, **overrides})


# --- Taking tasks ----------------------------------------------------------------------------


def test_unsatisfied_contact_lands_in_the_district_centres_queue(world):
    callback = first_callback(unsatisfied_survey(world))
    assert callback.centre == world.district_a
    assert callback.unit == world.station_a2
    assert callback.status == CallbackStatus.OPEN


def test_take_next_gives_the_task_due_soonest_and_then_the_one_already_held(world, evaluator):
    now = timezone.now()
    later = first_callback(unsatisfied_survey(world, now=now))
    sooner = first_callback(unsatisfied_survey(world, now=now - timedelta(hours=2)))

    taken = callback_claim_next(actor=evaluator, now=now)

    assert taken.pk == sooner.pk
    assert (taken.status, taken.assignee_id) == (CallbackStatus.IN_PROGRESS, evaluator.pk)
    # Asking again while holding one gives the same task, not a second one.
    assert callback_claim_next(actor=evaluator, now=now).pk == sooner.pk
    later.refresh_from_db()
    assert later.status == CallbackStatus.OPEN
    event = CallbackEvent.objects.filter(callback=sooner).last()
    assert (event.actor, event.from_status, event.to_status) == (
        evaluator,
        CallbackStatus.OPEN,
        CallbackStatus.IN_PROGRESS,
    )


def test_take_next_on_an_empty_queue_is_none(evaluator):
    assert callback_claim_next(actor=evaluator) is None


def test_task_held_by_another_evaluator_is_refused_with_their_name(world, evaluator, colleague):
    callback = held_callback(world, evaluator=colleague)

    with pytest.raises(ApplicationError) as exc:
        callback_claim(actor=evaluator, callback=callback)

    assert exc.value.code == "callback_taken"
    assert exc.value.status == 409
    assert "李访评" in exc.value.message
    callback.refresh_from_db()
    assert callback.assignee == colleague
    assert callback_claim_next(actor=evaluator) is None  # not handed out either


def test_a_lapsed_claim_can_be_taken_over(world, settings, evaluator, colleague):
    start = timezone.now()
    callback = held_callback(world, evaluator=colleague, now=start)
    lapse = start + timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES, seconds=1)

    # Still held just before the claim lapses
    with pytest.raises(ApplicationError, match="李访评"):
        callback_claim(actor=evaluator, callback=callback, now=lapse - timedelta(seconds=2))

    taken = callback_claim(actor=evaluator, callback=callback, now=lapse)

    assert (taken.assignee, taken.claimed_at) == (evaluator, lapse)
    # The one who let it lapse can no longer record on it
    with pytest.raises(ApplicationError) as exc:
        _reached(colleague, callback)
    assert exc.value.code == "callback_not_held"
    assert CallbackAttempt.objects.count() == 0


def test_lapsed_task_is_offered_by_take_next(world, settings, evaluator, colleague):
    start = timezone.now()
    callback = held_callback(world, evaluator=colleague, now=start)
    lapse = start + timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES, seconds=1)
    assert callback_claim_next(actor=evaluator, now=lapse).pk == callback.pk


def test_release_puts_the_task_back(world, evaluator, colleague):
    callback = held_callback(world, evaluator=evaluator)
    callback_release(actor=evaluator, callback=callback)
    callback.refresh_from_db()
    assert (callback.status, callback.assignee) == (CallbackStatus.OPEN, None)
    assert callback_claim_next(actor=colleague).pk == callback.pk


def test_release_of_a_task_held_by_someone_else_is_refused(world, evaluator, colleague):
    callback = held_callback(world, evaluator=colleague)
    with pytest.raises(ApplicationError) as exc:
        callback_release(actor=evaluator, callback=callback)
    assert exc.value.code == "callback_not_held"
    callback.refresh_from_db()
    assert callback.assignee == colleague


def test_evaluator_of_a_sibling_centre_cannot_see_take_or_reveal(world):
    callback = first_callback(unsatisfied_survey(world))
    sibling = world.user("b", Role.EVALUATOR)

    assert callback_claim_next(actor=sibling) is None
    with pytest.raises(NotFound):
        callback_claim(actor=sibling, callback=callback)
    with pytest.raises(NotFound):
        callback_reveal_mobile(actor=sibling, callback=callback)
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.OPEN
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEAL).exists()


def test_the_city_centre_sees_the_districts_queue(world):
    callback = first_callback(unsatisfied_survey(world))
    assert callback_claim_next(actor=world.user("city", Role.EVALUATOR)).pk == callback.pk


def test_a_unit_leader_cannot_take_tasks(world):
    first_callback(unsatisfied_survey(world))
    with pytest.raises(PermissionDenied):
        callback_claim_next(actor=world.user("a", Role.UNIT_LEADER))


# --- The citizen's number --------------------------------------------------------------------


def test_reveal_gives_the_full_number_and_is_audited(world, evaluator):
    survey = unsatisfied_survey(world, mobile="13812345678")
    callback = first_callback(survey)

    assert callback_reveal_mobile(actor=evaluator, callback=callback) == "13812345678"

    audit = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert audit.actor == evaluator
    assert (audit.object_type, audit.object_id) == ("callbacks.callback", str(callback.pk))
    assert audit.detail["field"] == "citizen_mobile"
    assert "13812345678" not in str(audit.detail)


def test_reveal_refused_to_a_role_without_the_permission(world):
    callback = first_callback(unsatisfied_survey(world))
    with pytest.raises(PermissionDenied):
        callback_reveal_mobile(actor=world.user("a", Role.UNIT_LEADER), callback=callback)
    # The refusal is on the record too
    refused = AuditEvent.objects.get(action=AuditAction.PII_REVEAL)
    assert refused.outcome == AuditOutcome.DENIED


# --- Calls -----------------------------------------------------------------------------------


def test_three_unanswered_calls_at_different_times_then_unreachable(world, settings, evaluator):
    # Given a held task
    t0 = timezone.now()
    callback = held_callback(world, evaluator=evaluator, now=t0)
    retry = timedelta(minutes=settings.CALLBACK_RETRY_MINUTES)

    # When the first call is not answered
    after_first = callback_record(
        actor=evaluator, callback=callback, outcome=CallOutcome.NO_ANSWER, now=t0
    )
    # Then the task goes back to the queue and waits for another time of day
    assert after_first.status == CallbackStatus.OPEN
    assert (after_first.attempts, after_first.assignee) == (1, None)
    assert after_first.not_before == t0 + retry
    soon = t0 + timedelta(minutes=10)
    assert callback_claim_next(actor=evaluator, now=soon) is None
    with pytest.raises(ApplicationError) as exc:
        callback_claim(actor=evaluator, callback=callback, now=soon)
    assert exc.value.code == "callback_waiting"

    # When the second call, after the wait, is not answered either
    t1 = t0 + retry
    assert callback_claim_next(actor=evaluator, now=t1).pk == callback.pk
    after_second = callback_record(
        actor=evaluator, callback=callback, outcome=CallOutcome.NO_ANSWER, now=t1
    )
    assert (after_second.status, after_second.attempts) == (CallbackStatus.OPEN, 2)
    assert after_second.not_before == t1 + retry

    # When the third is not answered
    t2 = t1 + retry
    callback_claim(actor=evaluator, callback=callback, now=t2)
    done = callback_record(
        actor=evaluator, callback=callback, outcome=CallOutcome.NO_ANSWER, now=t2
    )

    # Then the citizen counts as unreachable, with each attempt on record
    assert done.status == CallbackStatus.DONE
    assert (done.attempts, done.outcome) == (3, CallOutcome.NO_ANSWER)
    assert done.attribution == Attribution.UNREACHABLE
    assert (done.completed_by, done.completed_at) == (evaluator, t2)
    calls = list(CallbackAttempt.objects.filter(callback=callback))
    assert [c.outcome for c in calls] == [CallOutcome.NO_ANSWER] * 3
    assert [c.created_at for c in calls] == [t0, t1, t2]
    assert not WorkOrder.objects.exists()
    assert callback_claim_next(actor=evaluator, now=t2 + retry) is None


@pytest.mark.parametrize("outcome", [CallOutcome.REFUSED, CallOutcome.WRONG_NUMBER])
def test_refused_or_wrong_number_is_unreachable_at_once(world, evaluator, outcome):
    callback = held_callback(world, evaluator=evaluator)
    done = callback_record(actor=evaluator, callback=callback, outcome=outcome, note="空号")
    assert done.status == CallbackStatus.DONE
    assert (done.attempts, done.outcome, done.attribution) == (
        1,
        outcome,
        Attribution.UNREACHABLE,
    )
    assert CallbackAttempt.objects.get(callback=callback).note == "空号"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"reason_text": "  "}, "reason_required"),
        ({"reason_text": "长" * 2001}, "reason_too_long"),
        ({"tags": []}, "tags_required"),
        ({"tags": ["no_such_tag"]}, "invalid_tag"),
        ({"attribution": ""}, "attribution_required"),
        ({"attribution": Attribution.UNREACHABLE}, "attribution_required"),
        ({"outcome": "hung_up"}, "invalid_outcome"),
    ],
)
def test_a_reached_call_needs_reason_tags_and_attribution(world, evaluator, overrides, code):
    callback = held_callback(world, evaluator=evaluator)

    with pytest.raises(ApplicationError) as exc:
        _reached(evaluator, callback, **overrides)

    # Refused whole: no attempt counted, the task still held, nothing recorded
    assert exc.value.code == code
    callback.refresh_from_db()
    assert (callback.status, callback.assignee, callback.attempts) == (
        CallbackStatus.IN_PROGRESS,
        evaluator,
        0,
    )
    assert (callback.reason_text, callback.tags, callback.attribution) == ("", [], "")
    assert not CallbackAttempt.objects.exists()


def test_responsible_officer_must_be_on_the_event(world, evaluator):
    callback = held_callback(world, evaluator=evaluator)
    with pytest.raises(ApplicationError) as exc:
        _reached(
            evaluator, callback, attribution=Attribution.AT_FAULT, officer=world.officers["a1"]
        )
    assert exc.value.code == "officer_not_on_event"
    assert not WorkOrder.objects.exists()
    assert not CallbackAttempt.objects.exists()


def test_a_reached_call_records_reason_tags_and_attribution(world, evaluator):
    callback = held_callback(world, evaluator=evaluator)
    done = _reached(
        evaluator,
        callback,
        tags=[ReasonTag.EFFICIENCY, ReasonTag.ATTITUDE, ReasonTag.ATTITUDE],
        officer=world.officers["a2"],
    )
    assert done.status == CallbackStatus.DONE
    assert done.reason_text == REASON
    assert done.tags == [ReasonTag.ATTITUDE, ReasonTag.EFFICIENCY]
    assert (done.attribution, done.officer) == (Attribution.EXPLAINED, world.officers["a2"])
    assert (done.outcome, done.attempts) == (CallOutcome.REACHED, 1)
    # Explained, not at fault: no work order
    assert not WorkOrder.objects.exists()


def test_recording_on_a_finished_task_is_refused(world, evaluator):
    callback = held_callback(world, evaluator=evaluator)
    _reached(evaluator, callback)
    with pytest.raises(ApplicationError) as exc:
        _reached(evaluator, callback)
    assert exc.value.code == "callback_done"
    with pytest.raises(ApplicationError) as exc:
        callback_claim(actor=evaluator, callback=callback)
    assert exc.value.code == "callback_done"
    assert CallbackAttempt.objects.count() == 1


def test_recording_without_taking_the_task_is_refused(world, evaluator):
    callback = first_callback(unsatisfied_survey(world))
    with pytest.raises(ApplicationError) as exc:
        _reached(evaluator, callback)
    assert exc.value.code == "callback_not_held"
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.OPEN


# --- Police at fault -------------------------------------------------------------------------


def test_at_fault_dispatches_a_work_order_and_tells_the_unit_leader(world, evaluator):
    # Given station a2's leader has a mobile on file, its other staff not
    leader = give_mobile(world.user("a2", Role.UNIT_LEADER))
    callback = held_callback(world, evaluator=evaluator)

    # When the evaluator finds the police at fault
    _reached(
        evaluator,
        callback,
        tags=[ReasonTag.ATTITUDE, ReasonTag.MULTIPLE_TRIPS],
        attribution=Attribution.AT_FAULT,
        officer=world.officers["a2"],
    )

    # Then a work order goes to the unit, due in working days
    order = WorkOrder.objects.get(callback=callback)
    assert order.status == WorkOrderStatus.DISPATCHED
    assert (order.unit, order.centre, order.officer) == (
        world.station_a2,
        world.district_a,
        world.officers["a2"],
    )
    assert order.problem == REASON
    assert order.tags == [ReasonTag.ATTITUDE, ReasonTag.MULTIPLE_TRIPS]
    assert order.deadline > timezone.localdate()
    assert order.number.startswith("ZG")
    history = WorkOrderEvent.objects.get(order=order)
    assert (history.actor, history.from_status, history.to_status) == (
        evaluator,
        "",
        WorkOrderStatus.DISPATCHED,
    )
    # And the unit leader is told in the console and by SMS; nobody else
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (
        leader,
        NotificationKind.ORDER_ARRIVED,
    )
    assert order.number in notification.text
    assert f"{order.deadline:%m月%d日}" in notification.text
    sms = OutboundSms.objects.get(purpose=SmsPurpose.NOTIFICATION)
    assert sms.to_mobile == LEADER_MOBILE
    assert order.number in sms.body


def test_at_fault_without_a_leader_mobile_notifies_in_the_console_only(world, evaluator):
    callback = held_callback(world, evaluator=evaluator)
    _reached(evaluator, callback, attribution=Attribution.AT_FAULT)
    assert Notification.objects.get().recipient == world.user("a2", Role.UNIT_LEADER)
    assert not OutboundSms.objects.filter(purpose=SmsPurpose.NOTIFICATION).exists()


def test_business_type_sets_the_rectification_days(world, btypes, evaluator):
    btypes["jcj_110"].rectification_days = 10
    btypes["jcj_110"].save()
    callback = held_callback(world, evaluator=evaluator)
    _reached(evaluator, callback, attribution=Attribution.AT_FAULT)
    order = WorkOrder.objects.get()
    assert order.deadline == add_working_days(timezone.localdate(), 10)[0]


def test_the_page_offers_exactly_what_the_services_allow(world, evaluator, colleague, client):
    """One rule, two users: the buttons drawn are the actions the services accept."""
    callback = first_callback(unsatisfied_survey(world))
    assert callback_actions_for(evaluator, callback) == {"claim", "reveal"}
    callback_claim(actor=colleague, callback=callback)
    callback.refresh_from_db()
    assert callback_actions_for(colleague, callback) == {"claim", "release", "record", "reveal"}
    assert callback_actions_for(evaluator, callback) == {"reveal"}
    with pytest.raises(ApplicationError) as exc:
        callback_claim(actor=evaluator, callback=callback)
    assert exc.value.code == "callback_taken"
    client.force_login(evaluator)
    page = client.get(reverse("callbacks:callback_detail", args=[callback.pk])).content.decode()
    assert 'data-testid="claim"' not in page
    client.force_login(colleague)
    page = client.get(reverse("callbacks:callback_detail", args=[callback.pk])).content.decode()
    assert 'data-testid="claim"' not in page  # already held: the record form instead
    assert "record" in page
    leader = world.user("a1", Role.UNIT_LEADER)
    assert "claim" not in callback_actions_for(leader, callback)

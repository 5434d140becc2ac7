"""Appeals (申诉复核): a unit contests an at-fault attribution with a reason, within
APPEAL_WINDOW_WORKDAYS working days; a supervisor of a higher tier upholds or rejects it; an
upheld appeal takes the rating out of the unit's figures and keeps the trail."""

import threading
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from minyi.callbacks import services as callback_services
from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory
from minyi.perception.models import SatisfactionDaily, Survey
from minyi.workorders.models import Appeal, AppealStatus, WorkOrderEvent, WorkOrderStatus
from minyi.workorders.services import (
    appeal_decide,
    appeal_file,
    workorder_accept,
    workorder_close,
    workorder_feedback,
)
from minyi.workorders.tests.factories import (
    at_fault_order,
    follow_up_of,
    give_mobile,
    open_centres,
    pause_after,
    wait_until_blocked,
)

pytestmark = pytest.mark.django_db
S = WorkOrderStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
REASON = "经调取执法记录仪，民警全程规范执法，群众因被处罚而不满，申请复核责任认定。"
FEEDBACK = "已约谈当事民警并责令其当面道歉，组织全所开展规范服务培训。"


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


@pytest.fixture
def district_supervisor(world):
    return world.user("a", Role.SUPERVISOR)


@pytest.fixture
def appeal(order, leader):
    return appeal_file(actor=leader, order=order, reason=REASON)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def _rollup(survey):
    return SatisfactionDaily.objects.get(unit=survey.unit, business_type=survey.business_type)


# --- Filing ----------------------------------------------------------------------------------


def test_a_unit_appeals_with_a_reason_and_higher_tiers_are_told(world, order, leader):
    for key in ("a", "city", "a2", "b"):
        give_mobile(world.user(key, Role.SUPERVISOR), f"1390000{len(key):04d}")
    Notification.objects.all().delete()

    appeal = appeal_file(actor=leader, order=order, reason=REASON)

    assert (appeal.status, appeal.unit, appeal.filed_by) == (
        AppealStatus.PENDING,
        world.station_a2,
        leader,
    )
    order.refresh_from_db()
    assert order.status == S.DISPATCHED  # the order carries on while the appeal is pending
    last = WorkOrderEvent.objects.filter(order=order).last()
    assert (last.actor, last.from_status, last.to_status) == (leader, S.DISPATCHED, S.DISPATCHED)
    assert REASON[:20] in last.note
    told = Notification.objects.filter(kind=NotificationKind.APPEAL_FILED)
    assert set(told.values_list("recipient", flat=True)) == {
        world.user("a", Role.SUPERVISOR).pk,
        world.user("city", Role.SUPERVISOR).pk,
    }
    # Console only: an appeal is not worth waking anyone for
    assert not OutboundSms.objects.filter(purpose=SmsPurpose.NOTIFICATION).exists()


def test_appeal_twice_is_refused(order, leader, appeal):
    with pytest.raises(ApplicationError) as exc:
        appeal_file(actor=leader, order=order, reason=REASON)
    assert (exc.value.code, exc.value.status) == ("appeal_exists", 409)
    assert Appeal.objects.count() == 1


def test_an_appeal_needs_a_reason(order, leader):
    with pytest.raises(ApplicationError) as exc:
        appeal_file(actor=leader, order=order, reason="不服")
    assert exc.value.code == "reason_too_short"
    assert not Appeal.objects.exists()


def test_the_appeal_window_counts_working_days_across_national_day(world, leader):
    # Dispatched Wed 30 Sep 2026: 3 working days are 8 Oct, 9 Oct and Sat 10 Oct (make-up)
    order = at_fault_order(world, now=_at(date(2026, 9, 30)))
    history = WorkOrderEvent.objects.filter(order=order).count()

    with pytest.raises(ApplicationError) as exc:
        appeal_file(actor=leader, order=order, reason=REASON, now=_at(date(2026, 10, 12)))
    assert (exc.value.code, exc.value.status) == ("appeal_too_late", 409)
    assert "10月10日" in exc.value.message
    assert not Appeal.objects.exists()
    assert WorkOrderEvent.objects.filter(order=order).count() == history

    appeal = appeal_file(actor=leader, order=order, reason=REASON, now=_at(date(2026, 10, 10), 23))
    assert appeal.status == AppealStatus.PENDING


def test_another_unit_cannot_appeal_its_siblings_order(world, order):
    with pytest.raises(NotFound):
        appeal_file(actor=world.user("a1", Role.UNIT_LEADER), order=order, reason=REASON)
    with pytest.raises(PermissionDenied):
        appeal_file(actor=world.user("a", Role.EVALUATOR), order=order, reason=REASON)
    assert not Appeal.objects.exists()


def test_a_closed_order_cannot_be_appealed(world, order, leader):
    order.status = S.CLOSED
    order.save(update_fields=["status"])
    with pytest.raises(ApplicationError) as exc:
        appeal_file(actor=leader, order=order, reason=REASON)
    assert exc.value.code == "order_not_open"


# --- Deciding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_key", "role", "error"),
    [
        ("a2", Role.SUPERVISOR, "higher_tier_required"),  # the unit's own supervisor
        ("a1", Role.SUPERVISOR, "not_found"),  # a sibling station
        ("b", Role.SUPERVISOR, "not_found"),  # the other district
        ("a", Role.UNIT_LEADER, "permission_denied"),
        ("a", Role.EVALUATOR, "permission_denied"),
    ],
)
def test_only_a_supervisor_of_a_higher_tier_decides(world, appeal, order, unit_key, role, error):
    with pytest.raises(ApplicationError) as exc:
        appeal_decide(actor=world.user(unit_key, role), appeal=appeal, uphold=True, note="成立")
    assert exc.value.code == error
    appeal.refresh_from_db()
    order.refresh_from_db()
    assert appeal.status == AppealStatus.PENDING
    assert order.status == S.DISPATCHED
    assert order.survey.excluded_at is None


def test_a_decision_needs_a_note(appeal, district_supervisor):
    with pytest.raises(ApplicationError) as exc:
        appeal_decide(actor=district_supervisor, appeal=appeal, uphold=True, note=" ")
    assert exc.value.code == "note_required"
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.PENDING


def test_upheld_appeal_cancels_the_order_and_takes_the_rating_out_of_the_figures(
    world, order, leader, district_supervisor
):
    # Given the unit has fed back (a 追评 is waiting) and appealed in time
    survey = order.survey
    before = _rollup(survey)
    assert (before.replies, before.rating_4, before.excluded) == (1, 1, 0)
    workorder_accept(actor=leader, order=order)
    workorder_feedback(actor=leader, order=order, text=FEEDBACK)
    follow_up = follow_up_of(order)
    appeal = appeal_file(actor=leader, order=order, reason=REASON)
    Notification.objects.all().delete()

    # When the district supervisor upholds it
    decided = appeal_decide(
        actor=district_supervisor, appeal=appeal, uphold=True, note="执法记录仪显示民警规范"
    )

    # Then the order is cancelled, with the reason in its history
    assert (decided.status, decided.decided_by) == (AppealStatus.UPHELD, district_supervisor)
    assert decided.decision_note == "执法记录仪显示民警规范"
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    last = WorkOrderEvent.objects.filter(order=order).last()
    assert (last.actor, last.from_status, last.to_status) == (
        district_supervisor,
        S.FEEDBACK,
        S.CANCELLED,
    )
    assert "申诉成立" in last.note
    # And nobody calls the citizen for a 追评 any more
    follow_up.refresh_from_db()
    assert follow_up.status == CallbackStatus.DONE
    # And the rating leaves the unit's figures, while the record stays
    survey = Survey.objects.get(pk=survey.pk)
    assert survey.excluded_at is not None
    assert survey.rating == 4
    after = _rollup(survey)
    assert (after.replies, after.rating_4, after.excluded) == (0, 0, 1)
    first = Callback.objects.get(survey=survey, kind=CallbackKind.FIRST)
    assert first.attribution == Attribution.AT_FAULT
    # And the unit hears the result
    told = Notification.objects.get(kind=NotificationKind.APPEAL_DECIDED)
    assert told.recipient == leader and "申诉成立" in told.text

    # Deciding again is refused and changes nothing
    with pytest.raises(ApplicationError) as exc:
        appeal_decide(
            actor=world.user("city", Role.SUPERVISOR), appeal=appeal, uphold=False, note="x"
        )
    assert exc.value.code == "appeal_decided"
    assert _rollup(survey).excluded == 1
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.UPHELD


def test_rejected_appeal_leaves_the_order_to_carry_on(world, order, leader, district_supervisor):
    appeal = appeal_file(actor=leader, order=order, reason=REASON)

    decided = appeal_decide(
        actor=district_supervisor, appeal=appeal, uphold=False, note="群众反映属实"
    )

    assert decided.status == AppealStatus.REJECTED
    order.refresh_from_db()
    assert order.status == S.DISPATCHED
    last = WorkOrderEvent.objects.filter(order=order).last()
    assert (last.actor, last.to_status) == (district_supervisor, S.DISPATCHED)
    assert "申诉驳回" in last.note
    assert Survey.objects.get(pk=order.survey_id).excluded_at is None
    rollup = _rollup(order.survey)
    assert (rollup.replies, rollup.rating_4, rollup.excluded) == (1, 1, 0)
    # The unit rectifies as usual
    assert workorder_accept(actor=leader, order=order).status == S.ACCEPTED


def test_appeal_upheld_after_the_order_closed_still_takes_the_rating_out(
    world, order, leader, district_supervisor
):
    appeal = appeal_file(actor=leader, order=order, reason=REASON)
    order.status = S.AUDIT
    order.save(update_fields=["status"])
    workorder_close(actor=district_supervisor, order=order)

    appeal_decide(actor=district_supervisor, appeal=appeal, uphold=True, note="复核成立")

    order.refresh_from_db()
    assert order.status == S.CLOSED
    assert _rollup(order.survey).excluded == 1


def test_the_break_glass_superuser_can_decide(world, appeal, order):
    root = UserFactory(username="root", is_superuser=True, role="", unit=None)
    decided = appeal_decide(actor=root, appeal=appeal, uphold=False, note="维持原认定")
    assert decided.status == AppealStatus.REJECTED


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_upheld_while_the_follow_up_is_being_recorded_neither_deadlocks(
    world, order, leader, district_supervisor, monkeypatch
):
    # Given an order fed back, appealed, and an evaluator inside recording the 追评 (the
    # follow-up task locked, the order not yet)
    workorder_accept(actor=leader, order=order)
    workorder_feedback(actor=leader, order=order, text=FEEDBACK)
    appeal = appeal_file(actor=leader, order=order, reason=REASON)
    evaluator = world.user("a", Role.EVALUATOR)
    follow_up = callback_claim(actor=evaluator, callback=follow_up_of(order))
    reached, release = pause_after(monkeypatch, callback_services, "_held", "evaluator")
    errors = []

    def run(fn, **kwargs):
        try:
            fn(**kwargs)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    recording = threading.Thread(
        target=run,
        name="evaluator",
        kwargs={
            "fn": callback_record,
            "actor": evaluator,
            "callback": follow_up,
            "outcome": CallOutcome.REACHED,
            "follow_up_rating": 2,
        },
    )
    deciding = threading.Thread(
        target=run,
        name="supervisor",
        kwargs={
            "fn": appeal_decide,
            "actor": district_supervisor,
            "appeal": appeal,
            "uphold": True,
            "note": "执法记录仪显示民警规范",
        },
    )
    recording.start()
    try:
        assert reached.wait(timeout=30)
        # When the supervisor upholds the appeal at that moment
        deciding.start()
        wait_until_blocked(deciding)
    finally:
        release.set()
        recording.join()
        deciding.join()

    # Then both finish: the 追评 is recorded, then the order is cancelled
    assert errors == []
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.follow_up_rating) == (CallbackStatus.DONE, 2)
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert [e.to_status for e in WorkOrderEvent.objects.filter(order=order)][-2:] == [
        S.AUDIT,
        S.CANCELLED,
    ]
    assert Survey.objects.get(pk=order.survey_id).excluded_at is not None

"""Work orders (整改工单): dispatched → accepted → feedback with evidence → 追评 → returned or
audited → closed; overdue orders escalate; every move is a history row."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackKind, CallbackStatus, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role
from minyi.workorders.models import Evidence, WorkOrder, WorkOrderEvent, WorkOrderStatus
from minyi.workorders.services import (
    workorder_accept,
    workorder_close,
    workorder_feedback,
    workorder_return,
    workorders_escalate_overdue,
    workorders_remind_due,
)
from minyi.workorders.tests.factories import (
    JPEG,
    LEADER_MOBILE,
    PDF,
    PNG,
    follow_up_of,
    give_mobile,
    open_centres,
    upload,
)

pytestmark = pytest.mark.django_db
S = WorkOrderStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEEDBACK = "已约谈当事民警并责令其当面道歉，组织全所开展规范服务培训。"


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def _follow_up(evaluator, order, *, rating=None, outcome=CallOutcome.REACHED):
    callback = callback_claim(actor=evaluator, callback=follow_up_of(order))
    return callback_record(
        actor=evaluator,
        callback=callback,
        outcome=outcome,
        follow_up_rating=rating,
        reason_text="群众表示仍未解决" if rating and rating > 3 else "",
    )


def _media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _history(order):
    return list(
        WorkOrderEvent.objects.filter(order=order).values_list(
            "actor__username", "from_status", "to_status"
        )
    )


def test_the_whole_loop_returned_once_then_resolved_and_closed(
    world, order, leader, evaluator, auditor, settings
):
    # Given an order dispatched to station a2 after an at-fault callback
    give_mobile(leader)
    assert order.status == S.DISPATCHED

    # When the unit accepts it and reports back with a photo
    order = workorder_accept(actor=leader, order=order)
    assert order.status == S.ACCEPTED and order.accepted_at is not None
    order = workorder_feedback(
        actor=leader, order=order, text=FEEDBACK, files=[upload(PNG, "现场整改.png")]
    )

    # Then the evidence is kept and the centre is asked to call the citizen again (追评)
    assert (order.status, order.feedback_text) == (S.FEEDBACK, FEEDBACK)
    evidence = Evidence.objects.get(order=order)
    assert (evidence.original_name, evidence.content_type, evidence.size) == (
        "现场整改.png",
        "image/png",
        len(PNG),
    )
    assert evidence.uploaded_by == leader
    with evidence.file.open("rb") as stored:
        assert stored.read() == PNG
    follow_up = follow_up_of(order)
    assert (follow_up.kind, follow_up.centre, follow_up.status) == (
        CallbackKind.FOLLOW_UP,
        world.district_a,
        CallbackStatus.OPEN,
    )

    # When the citizen is still unsatisfied on the 追评
    _follow_up(evaluator, order, rating=4)

    # Then the order goes back to the unit, which is told (console and SMS)
    order.refresh_from_db()
    assert (order.status, order.returns, order.follow_up_rating) == (S.RETURNED, 1, 4)
    returned = Notification.objects.get(kind=NotificationKind.ORDER_RETURNED)
    assert returned.recipient == leader and order.number in returned.text
    assert OutboundSms.objects.filter(
        purpose=SmsPurpose.NOTIFICATION, body__contains="被退回"
    ).exists()
    assert Callback.objects.get(pk=follow_up.pk).follow_up_rating == 4

    # When the unit rectifies again and the citizen is satisfied this time
    order = workorder_feedback(
        actor=leader, order=order, text=FEEDBACK + "再次上门回访。", files=[upload(PDF, "a.pdf")]
    )
    assert order.status == S.FEEDBACK
    _follow_up(evaluator, order, rating=2)
    order.refresh_from_db()
    assert (order.status, order.follow_up_rating) == (S.AUDIT, 2)

    # And the centre audits and closes it
    order = workorder_close(actor=auditor, order=order, note="整改到位")

    # Then it is closed as truly resolved, once
    assert order.status == S.CLOSED
    assert order.resolved is True
    assert order.closed_at is not None
    with pytest.raises(ApplicationError) as exc:
        workorder_close(actor=auditor, order=order)
    assert exc.value.code == "order_closed"
    assert exc.value.status == 409

    # And every move is in the history: who, from, to, why
    ev, lead, sup = evaluator.username, leader.username, auditor.username
    assert _history(order) == [
        (ev, "", S.DISPATCHED),
        (lead, S.DISPATCHED, S.ACCEPTED),
        (lead, S.ACCEPTED, S.FEEDBACK),
        (ev, S.FEEDBACK, S.RETURNED),
        (lead, S.RETURNED, S.FEEDBACK),
        (ev, S.FEEDBACK, S.AUDIT),
        (sup, S.AUDIT, S.CLOSED),
    ]
    notes = list(WorkOrderEvent.objects.filter(order=order).values_list("note", flat=True))
    assert notes[2] == FEEDBACK
    assert "追评仍不满意" in notes[3] and "群众表示仍未解决" not in notes[3]  # kept encrypted
    assert notes[-1] == "整改到位"
    assert Evidence.objects.filter(order=order).count() == 2
    assert Callback.objects.filter(work_order=order, status=CallbackStatus.DONE).count() == 2


def test_follow_up_unreachable_goes_to_audit_and_closes_unresolved(
    order, accepted, leader, evaluator, auditor
):
    workorder_feedback(actor=leader, order=accepted, text=FEEDBACK)
    _follow_up(evaluator, accepted, outcome=CallOutcome.REFUSED)
    order.refresh_from_db()
    assert order.status == S.AUDIT
    closed = workorder_close(actor=auditor, order=order)
    assert (closed.status, closed.resolved) == (S.CLOSED, False)


def test_a_station_does_not_close_its_own_order(world, order, accepted, leader, evaluator):
    # Given an order of station a2 whose callback was made by the district-a centre
    workorder_feedback(actor=leader, order=accepted, text=FEEDBACK)
    _follow_up(evaluator, order, rating=2)
    order.refresh_from_db()
    assert order.centre == world.district_a
    # When the station's own supervisor tries to sign it off, or send it back
    own = world.user("a2", Role.SUPERVISOR)
    for act in (
        lambda: workorder_close(actor=own, order=order),
        lambda: workorder_return(actor=own, order=order, note="再整改"),
    ):
        with pytest.raises(ApplicationError) as exc:
            act()
        # Then it is refused and the order waits for the centre
        assert exc.value.code == "centre_required"
    order.refresh_from_db()
    assert order.status == S.AUDIT


def test_the_centre_returns_an_order_at_audit_with_a_reason(
    order, accepted, leader, evaluator, auditor
):
    workorder_feedback(actor=leader, order=accepted, text=FEEDBACK)
    with pytest.raises(ApplicationError) as exc:
        workorder_return(actor=auditor, order=order, note="不合格")
    assert exc.value.code == "invalid_transition"  # still waiting for the 追评
    _follow_up(evaluator, order, rating=3)

    with pytest.raises(ApplicationError) as exc:
        workorder_return(actor=auditor, order=order, note="  ")
    assert exc.value.code == "note_required"

    returned = workorder_return(actor=auditor, order=order, note="佐证材料与问题不符")
    assert (returned.status, returned.returns) == (S.RETURNED, 1)
    assert WorkOrderEvent.objects.filter(order=order).last().note == "佐证材料与问题不符"
    assert Notification.objects.filter(kind=NotificationKind.ORDER_RETURNED).count() == 1


# --- Who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("unit_key", ["a1", "b1", "b"])
def test_another_units_leader_cannot_accept_or_feed_back(world, order, unit_key):
    other = world.user(unit_key, Role.UNIT_LEADER)
    with pytest.raises(NotFound):
        workorder_accept(actor=other, order=order)
    workorder_accept(actor=world.user("a2", Role.UNIT_LEADER), order=order)
    with pytest.raises(NotFound):
        workorder_feedback(actor=other, order=order, text=FEEDBACK, files=[upload()])
    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert not Evidence.objects.exists()
    assert not Callback.objects.filter(kind=CallbackKind.FOLLOW_UP).exists()


def test_only_the_units_side_accepts_and_only_supervisors_close(world, order, evaluator):
    with pytest.raises(PermissionDenied):
        workorder_accept(actor=evaluator, order=order)
    for actor in (world.user("a2", Role.UNIT_LEADER), evaluator):
        with pytest.raises(PermissionDenied):
            workorder_close(actor=actor, order=order)
    with pytest.raises(NotFound):
        workorder_close(actor=world.user("b", Role.SUPERVISOR), order=order)
    order.refresh_from_db()
    assert order.status == S.DISPATCHED


def test_out_of_order_moves_are_refused(order, leader, auditor):
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(actor=leader, order=order, text=FEEDBACK)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ApplicationError) as exc:
        workorder_close(actor=auditor, order=order)
    assert exc.value.code == "invalid_transition"
    workorder_accept(actor=leader, order=order)
    with pytest.raises(ApplicationError) as exc:
        workorder_accept(actor=leader, order=order)
    assert exc.value.code == "invalid_transition"
    assert len(_history(order)) == 2


# --- Feedback and its evidence ---------------------------------------------------------------


def _assert_nothing_changed(order, settings):
    order.refresh_from_db()
    assert order.status == S.ACCEPTED
    assert (order.feedback_at, order.feedback_text) == (None, "")
    assert not Evidence.objects.exists()
    assert not Callback.objects.filter(kind=CallbackKind.FOLLOW_UP).exists()
    assert [e.to_status for e in WorkOrderEvent.objects.filter(order=order)] == [
        S.DISPATCHED,
        S.ACCEPTED,
    ]
    assert _media_files(settings) == []


def test_a_file_too_large_is_refused_and_nothing_changes(order, accepted, leader, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    big = PNG + b"\x00" * 1024
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(
            actor=leader, order=order, text=FEEDBACK, files=[upload(PDF), upload(big, "大图.png")]
        )
    assert exc.value.code == "file_too_large"
    assert exc.value.field == "evidence"
    assert "大图.png" in exc.value.message
    _assert_nothing_changed(order, settings)


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (b"GIF89a" + b"\x00" * 32, "动图.png", "image/png"),  # a GIF named PNG
        (b"MZ\x90\x00" + b"\x00" * 32, "说明.pdf", "application/pdf"),  # a program
        (b"<html><script>alert(1)</script>", "页面.jpg", "image/jpeg"),
        (b"", "空.png", "image/png"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_and_nothing_changes(
    order, accepted, leader, settings, content, name, content_type
):
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(
            actor=leader,
            order=order,
            text=FEEDBACK,
            files=[upload(JPEG, "ok.jpg"), upload(content, name, content_type)],
        )
    assert exc.value.code == "file_type"
    assert name in exc.value.message
    _assert_nothing_changed(order, settings)


def test_too_many_files_are_refused(order, accepted, leader, settings):
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(
            actor=leader, order=order, text=FEEDBACK, files=[upload() for _ in range(6)]
        )
    assert exc.value.code == "too_many_files"
    _assert_nothing_changed(order, settings)


def test_feedback_needs_a_real_description(order, accepted, leader, settings):
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(actor=leader, order=order, text="已整改", files=[upload()])
    assert exc.value.code == "feedback_too_short"
    _assert_nothing_changed(order, settings)


def test_the_type_comes_from_the_bytes_not_the_name(order, accepted, leader):
    workorder_feedback(
        actor=leader,
        order=order,
        text=FEEDBACK,
        files=[upload(PNG, "扫描件.pdf", "application/pdf"), upload(JPEG, "x.jpg", "image/jpeg")],
    )
    assert list(Evidence.objects.values_list("content_type", flat=True)) == [
        "image/png",
        "image/jpeg",
    ]


def test_feedback_twice_is_refused(order, accepted, leader):
    workorder_feedback(actor=leader, order=order, text=FEEDBACK)
    with pytest.raises(ApplicationError) as exc:
        workorder_feedback(actor=leader, order=order, text=FEEDBACK, files=[upload()])
    assert exc.value.code == "invalid_transition"
    assert Callback.objects.filter(kind=CallbackKind.FOLLOW_UP).count() == 1
    assert not Evidence.objects.exists()


# --- Deadlines: reminders and escalation ----------------------------------------------------


def _at(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def test_overdue_order_escalates_to_the_parent_unit_once(world, order, leader):
    parent_leader = give_mobile(world.user("a", Role.UNIT_LEADER), "13900001234")
    Notification.objects.all().delete()

    # Not yet on the deadline day itself
    assert workorders_escalate_overdue(now=_at(order.deadline, 20)) == 0

    # The next day it goes up to 甲区分局, and both units are told
    assert workorders_escalate_overdue(now=_at(order.deadline + timedelta(days=1))) == 1
    order.refresh_from_db()
    assert order.escalated_to == world.district_a
    assert order.status == S.DISPATCHED  # still the unit's to do
    told = Notification.objects.filter(kind=NotificationKind.ORDER_OVERDUE)
    assert set(told.values_list("recipient", flat=True)) == {parent_leader.pk, leader.pk}
    assert (
        OutboundSms.objects.filter(to_mobile_hash=lookup_hash("mobile", "13900001234")).count() == 1
    )
    last = WorkOrderEvent.objects.filter(order=order).last()
    assert (last.from_status, last.to_status) == (S.DISPATCHED, S.DISPATCHED)
    assert world.district_a.name in last.note

    # Once only
    assert workorders_escalate_overdue(now=_at(order.deadline + timedelta(days=5))) == 0
    assert told.count() == 2


def test_an_order_the_unit_has_fed_back_does_not_escalate(order, accepted, leader):
    workorder_feedback(actor=leader, order=order, text=FEEDBACK)
    assert workorders_escalate_overdue(now=_at(order.deadline + timedelta(days=3))) == 0


def test_the_unit_is_reminded_once_near_the_deadline(order, leader):
    Notification.objects.all().delete()
    assert workorders_remind_due(now=_at(timezone.localdate(order.dispatched_at))) == 0
    assert workorders_remind_due(now=_at(order.deadline)) == 1
    assert workorders_remind_due(now=_at(order.deadline)) == 0
    reminder = Notification.objects.get()
    assert (reminder.recipient, reminder.kind) == (leader, NotificationKind.ORDER_DUE_SOON)
    assert order.number in reminder.text


def test_leader_sms_goes_to_the_mobile_on_file(order, leader):
    give_mobile(leader)
    Notification.objects.all().delete()
    workorders_remind_due(now=_at(order.deadline))
    sms = OutboundSms.objects.get(purpose=SmsPurpose.NOTIFICATION)
    assert sms.to_mobile == LEADER_MOBILE
    assert "将于" in sms.body


def test_an_order_is_overdue_only_after_its_deadline(order):
    assert order.is_open and not order.is_overdue
    WorkOrder.objects.filter(pk=order.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    order.refresh_from_db()
    assert order.is_overdue


def test_escalation_sms_waits_for_the_morning(world, order):
    give_mobile(world.user("a", Role.UNIT_LEADER), "13900004321")
    # When the deadline passes and the sweep runs just after midnight
    moment = _at(order.deadline + timedelta(days=1), 0)
    assert workorders_escalate_overdue(now=moment) == 1
    # Then the console knows at once, but the SMS is held until the quiet hours end
    sms = OutboundSms.objects.get(to_mobile_hash=lookup_hash("mobile", "13900004321"))
    assert timezone.localtime(sms.not_before).hour == 8


def test_a_returned_order_gets_a_fresh_deadline(order, accepted, leader, evaluator):
    # Given an order fed back late, escalated, then rated unsatisfied again on the 追评
    workorder_feedback(actor=leader, order=accepted, text=FEEDBACK)
    WorkOrder.objects.filter(pk=order.pk).update(
        deadline=timezone.localdate() - timedelta(days=3), escalated_at=timezone.now()
    )
    _follow_up(evaluator, order, rating=5)
    order.refresh_from_db()
    # Then the unit has the business type's working days again, and the sweeps start over
    assert order.status == S.RETURNED
    assert order.deadline > timezone.localdate()
    assert order.escalated_at is None and order.deadline_reminded_at is None
    # And the history names the 追评 without copying the citizen's words
    last = WorkOrderEvent.objects.filter(order=order).last()
    assert "仍未解决" not in last.note

"""The lifecycle helper (minyi.core.lifecycle) as work orders use it, and the one rule for the
page and the service (workorder_actions_for / workorder_action_require)."""

import pytest

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.orgs.choices import Role
from minyi.workorders.models import ORDER_LIFECYCLE, WorkOrder, WorkOrderEvent, WorkOrderStatus
from minyi.workorders.selectors import appeal_for, workorder_actions_for
from minyi.workorders.services import workorder_accept, workorder_close
from minyi.workorders.tests.factories import open_centres

pytestmark = pytest.mark.django_db
S = WorkOrderStatus


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def test_a_move_from_a_stale_copy_changes_nothing(order, leader):
    # Given two copies of the same dispatched order, one of which is accepted
    stale = WorkOrder.objects.get(pk=order.pk)
    workorder_accept(actor=leader, order=order)
    events = WorkOrderEvent.objects.filter(order=order).count()

    # When the other copy tries the same move
    with pytest.raises(ApplicationError) as exc:
        ORDER_LIFECYCLE.move(stale, actor=leader, to=S.ACCEPTED)

    # Then it is refused as stale, and no history row is written
    assert (exc.value.code, exc.value.status) == ("stale_state", 409)
    assert WorkOrderEvent.objects.filter(order=order).count() == events


def test_a_move_records_who_from_to_why_and_labels_them(accepted, leader):
    event = WorkOrderEvent.objects.filter(order=accepted).last()
    assert (event.actor, event.from_status, event.to_status, event.note) == (
        leader,
        S.DISPATCHED,
        S.ACCEPTED,
        "签收",
    )
    assert (event.from_label, event.to_label) == (S.DISPATCHED.label, S.ACCEPTED.label)


def test_a_move_the_status_does_not_allow_names_the_status(order):
    with pytest.raises(ApplicationError) as exc:
        ORDER_LIFECYCLE.check(order, S.CLOSED)
    assert exc.value.code == "invalid_transition"
    assert str(S.DISPATCHED.label) in str(exc.value.message)


def test_page_and_service_follow_one_rule(world, order, leader, auditor):
    """Every action the page does not offer is refused by its service, and each offered one
    goes through."""
    # Given a dispatched order: its unit may accept it (or appeal); the centre may do nothing
    assert workorder_actions_for(leader, order, appeal=appeal_for(order)) == {"accept", "appeal"}
    assert workorder_actions_for(auditor, order, appeal=None) == frozenset()

    # When the centre tries to close it anyway, the service refuses it as not allowed now
    with pytest.raises(ApplicationError) as exc:
        workorder_close(actor=auditor, order=order)
    assert exc.value.code == "invalid_transition"

    # And a role without the permission is refused as such, by page and service alike
    evaluator = world.user("a", Role.EVALUATOR)
    assert "accept" not in workorder_actions_for(evaluator, order)
    with pytest.raises(PermissionDenied):
        workorder_accept(actor=evaluator, order=order)

    # And the offered action goes through
    assert workorder_accept(actor=leader, order=order).status == S.ACCEPTED

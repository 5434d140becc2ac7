"""Permission-matrix cases for the work-order pages (collected by
minyi/console/tests/test_permission_matrix.py). The marker is the order number of station
a2's order, which a sibling (station a1) must never see."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.choices import Role
from minyi.orgs.roles import Perm
from minyi.workorders.models import WorkOrder, WorkOrderStatus


def _order(world) -> WorkOrder:
    """Station a2's order, made once per test (the marker and the address both ask)."""
    from minyi.workorders.tests.views_data import at_fault_order

    order = WorkOrder.objects.filter(unit=world.station_a2).first()
    return order or at_fault_order(world)


def _audited(world) -> WorkOrder:
    """Station a2's order, rectified and rated satisfied: the centre may close or return it."""
    from minyi.workorders.tests.views_data import order_in_audit

    order = _order(world)
    if order.status != WorkOrderStatus.AUDIT:
        order = order_in_audit(world, order)
    return order


def _appealed(world) -> WorkOrder:
    from minyi.workorders.tests.views_data import order_with_appeal

    order = _order(world)
    return order if hasattr(order, "appeal") else order_with_appeal(world, order)


def _evidence(world):
    from minyi.workorders.tests.views_data import fed_back_order, png

    order = _order(world)
    if not order.evidence.exists():
        order = fed_back_order(world, order, files=[png()])
    return order.evidence.get()


def _rating(world):
    """Station a2's rating found an unreasonable demand (诉求不合理), open to appeal."""
    from minyi.callbacks.models import Callback
    from minyi.perception.tests.factories import business_types
    from minyi.workorders.tests.factories import open_centres
    from minyi.workorders.tests.test_rating_appeals import unreasonable_rating

    callback = Callback.objects.filter(unit=world.station_a2).first()
    if callback is None:
        business_types()
        open_centres(world)
        callback = unreasonable_rating(world)
    return callback


def _rating_appealed(world):
    from minyi.workorders.services import rating_appeal_file
    from minyi.workorders.tests.test_rating_appeals import REASON

    callback = _rating(world)
    if not hasattr(callback, "appeal"):
        rating_appeal_file(
            actor=world.user("a2", Role.UNIT_LEADER), callback=callback, reason=REASON
        )
    return callback


def _rating_marker(world):
    return reverse("workorders:rating_detail", args=[_rating(world).pk])


def _url(name, make):
    return lambda w: reverse(f"workorders:{name}", args=[make(w).pk])


def _number(make):
    return lambda w: make(w).number


CASES = {
    "workorders:order_list": Case(
        Perm.WORKORDER_VIEW, lambda w: reverse("workorders:order_list"), _number(_order)
    ),
    "workorders:order_detail": Case(
        Perm.WORKORDER_VIEW, _url("order_detail", _order), _number(_order), detail=True
    ),
    "workorders:order_accept": Case(
        Perm.WORKORDER_HANDLE,
        _url("order_accept", _order),
        _number(_order),
        method="post",
        detail=True,
        owner_status=302,  # signed for, back to the order
    ),
    "workorders:order_feedback": Case(
        Perm.WORKORDER_HANDLE,
        _url("order_feedback", _order),
        _number(_order),
        method="post",
        detail=True,
        owner_status=400,  # an empty report: the order again, with what is missing
    ),
    "workorders:appeal_file": Case(
        Perm.WORKORDER_HANDLE,
        _url("appeal_file", _order),
        _number(_order),
        method="post",
        detail=True,
        owner_status=400,  # no reason given
    ),
    "workorders:order_close": Case(
        Perm.WORKORDER_CLOSE,
        _url("order_close", _audited),
        _number(_audited),
        method="post",
        detail=True,
        owner_status=302,  # closed, back to the order
    ),
    "workorders:order_return": Case(
        Perm.WORKORDER_CLOSE,
        _url("order_return", _audited),
        _number(_audited),
        method="post",
        detail=True,
        owner_status=400,  # a return needs its reason
    ),
    "workorders:appeal_decide": Case(
        Perm.APPEAL_DECIDE,
        _url("appeal_decide", _appealed),
        _number(_appealed),
        method="post",
        detail=True,
        owner_status=400,  # no decision chosen
    ),
    "workorders:evidence_download": Case(
        Perm.WORKORDER_VIEW,
        lambda w: (
            (e := _evidence(w)) and reverse("workorders:evidence_download", args=[e.order_id, e.pk])
        ),
        None,  # a PNG: the sibling's 404 is the check
        detail=True,
    ),
    # Appeals are decided a tier above the appealing unit, so station a2's own supervisor
    # sees none of a2's; tests/test_views.py checks district a sees it and district b not.
    "workorders:appeal_list": Case(
        Perm.APPEAL_DECIDE, lambda w: reverse("workorders:appeal_list"), None
    ),
    "workorders:rating_list": Case(
        Perm.WORKORDER_VIEW, lambda w: reverse("workorders:rating_list"), _rating_marker
    ),
    "workorders:rating_detail": Case(
        Perm.WORKORDER_VIEW, _url("rating_detail", _rating), None, detail=True
    ),
    "workorders:rating_appeal_file": Case(
        Perm.WORKORDER_HANDLE,
        _url("rating_appeal_file", _rating),
        None,
        method="post",
        detail=True,
        owner_status=400,  # no reason given
    ),
    "workorders:rating_appeal_decide": Case(
        Perm.APPEAL_DECIDE,
        _url("rating_appeal_decide", _rating_appealed),
        None,
        method="post",
        detail=True,
        owner_status=400,  # no decision chosen
    ),
}

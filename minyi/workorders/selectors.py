"""Reads of work orders, evidence and appeals, always scoped to the actor's subtree (by the
responsible unit). Outside the subtree a row does not exist."""

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from minyi.core.errors import NotFound
from minyi.core.workdays import add_working_days
from minyi.orgs.selectors import scope_q
from minyi.workorders.models import (
    OPEN_STATUSES,
    UNIT_STATUSES,
    Appeal,
    AppealStatus,
    Evidence,
    WorkOrder,
    WorkOrderStatus,
)

S = WorkOrderStatus
OVERDUE = "overdue"  # a pseudo-status for the list's tab: still with the unit, past deadline
DUE_SOON = "due_soon"  # still with the unit, deadline within the reminder's working days
OPEN = "open"  # not closed or cancelled: what the list shows first


def _overdue_q(today) -> Q:
    # The same rule as WorkOrder.is_overdue, in SQL.
    return Q(status__in=UNIT_STATUSES, deadline__lt=today)


def _due_soon_q(today) -> Q:
    """The same window as the 临期提醒 (workorders_remind_due): today up to the
    WORKORDER_REMIND_WORKDAYS-th working day from today."""
    last, _adjusted = add_working_days(today, settings.WORKORDER_REMIND_WORKDAYS)
    return Q(status__in=UNIT_STATUSES, deadline__gte=today, deadline__lte=last)


def _visible(user) -> QuerySet[WorkOrder]:
    return WorkOrder.objects.filter(scope_q(user, "unit__"))


def _filtered(user, *, unit=None, business_type=None) -> QuerySet[WorkOrder]:
    qs = _visible(user)
    if unit is not None:
        qs = qs.filter(unit.subtree_filter("unit__"))
    if business_type is not None:
        qs = qs.filter(business_type=business_type)
    return qs


def workorder_list_visible_to(
    user, *, status: str = "", unit=None, business_type=None
) -> QuerySet[WorkOrder]:
    """Orders of the user's subtree (optionally of one unit's subtree, one business type, one
    status or OVERDUE): overdue first, then by deadline; closed and cancelled ones newest
    first. Each row carries what the list shows without further queries."""
    today = timezone.localdate()
    qs = _filtered(user, unit=unit, business_type=business_type).select_related(
        "unit", "business_type", "escalated_to", "appeal"
    )
    if status == OVERDUE:
        qs = qs.filter(_overdue_q(today))
    elif status == DUE_SOON:
        qs = qs.filter(_due_soon_q(today))
    elif status == OPEN:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if status == S.CLOSED:
        return qs.order_by("-closed_at", "-id")
    if status == S.CANCELLED:
        return qs.order_by("-dispatched_at", "-id")
    # Most urgent first: overdue, then open by deadline, then the finished ones.
    return qs.annotate(
        overdue_rank=Case(
            When(_overdue_q(today), then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        open_rank=Case(
            When(status__in=OPEN_STATUSES, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
    ).order_by("overdue_rank", "open_rank", "deadline", "id")


def workorder_counts_visible_to(user, *, unit=None, business_type=None) -> dict:
    """Orders per status and overdue ones, for the list's tabs: one query."""
    today = timezone.localdate()
    counts = {value: Count("id", filter=Q(status=value)) for value in S.values}
    counts[OVERDUE] = Count("id", filter=_overdue_q(today))
    counts[DUE_SOON] = Count("id", filter=_due_soon_q(today))
    counts[OPEN] = Count("id", filter=Q(status__in=OPEN_STATUSES))
    counts["all"] = Count("id")
    return _filtered(user, unit=unit, business_type=business_type).aggregate(**counts)


def workorder_get_visible_to(user, pk) -> WorkOrder:
    """One order with everything its page shows about where it came from."""
    order = (
        _visible(user)
        .filter(pk=pk)
        .select_related(
            "unit",
            "centre",
            "business_type",
            "officer",
            "escalated_to",
            "callback__officer",
            "callback__completed_by",
            "survey__event",
            "survey__business_type",
        )
        .first()
    )
    if order is None:
        raise NotFound()
    return order


def workorder_history(order: WorkOrder):
    return order.history.select_related("actor")


def evidence_list_for(order: WorkOrder):
    """An order's evidence; the caller already holds the order through a scoped read."""
    return order.evidence.all()


def evidence_get_visible_to(user, order_pk, pk) -> Evidence:
    evidence = (
        Evidence.objects.filter(scope_q(user, "order__unit__"), order_id=order_pk, pk=pk)
        .select_related("order")
        .first()
    )
    if evidence is None:
        raise NotFound()
    return evidence


def appeal_for(order: WorkOrder) -> Appeal | None:
    appeals = Appeal.objects.filter(order=order)
    return appeals.select_related("unit", "filed_by", "decided_by").first()


def appeal_list_pending_for(user) -> QuerySet[Appeal]:
    """Pending appeals a supervisor may decide: units of their subtree below their own unit
    (an appeal needs a higher tier), oldest first."""
    qs = Appeal.objects.filter(scope_q(user, "unit__"), status=AppealStatus.PENDING)
    if not user.is_superuser:
        if user.unit_id is None:
            return qs.none()
        qs = qs.filter(unit__depth__gt=user.unit.depth)
    return qs.select_related(
        "unit", "filed_by", "order__business_type", "order__unit", "order__escalated_to"
    ).order_by("filed_at", "id")


def appeal_decidable_by(user, appeal: Appeal | None) -> bool:
    """The same rule appeal_decide enforces: a pending appeal of a unit below the user's."""
    if appeal is None or appeal.status != AppealStatus.PENDING:
        return False
    if user.is_superuser and user.unit_id is None:
        return True  # the break-glass account stands above every tier
    return (
        user.unit_id is not None
        and user.unit_id != appeal.unit_id
        and user.unit.depth < appeal.unit.depth
        and user.unit.contains(appeal.unit)
    )

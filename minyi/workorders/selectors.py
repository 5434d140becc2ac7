"""Reads of work orders, evidence and appeals, always scoped to the actor's subtree (by the
responsible unit). Outside the subtree a row does not exist."""

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Actions
from minyi.core.ui import order_by_urgency
from minyi.core.workdays import add_working_days
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.workorders.models import (
    OPEN_STATUSES,
    ORDER_LIFECYCLE,
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
    return order_by_urgency(qs, overdue=_overdue_q(today), open_statuses=OPEN_STATUSES)


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


def rating_appeal_for(callback: Callback) -> Appeal | None:
    appeals = Appeal.objects.filter(callback=callback)
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
        "unit",
        "filed_by",
        "order__business_type",
        "order__unit",
        "order__escalated_to",
        "callback__survey__business_type",
    ).order_by("filed_at", "id")


# --- What a user may do to an order now ----------------------------------------------------


def appeal_deadline(order: WorkOrder):
    """The last day the unit may appeal: APPEAL_WINDOW_WORKDAYS working days after dispatch."""
    return add_working_days(
        timezone.localtime(order.dispatched_at).date(), settings.APPEAL_WINDOW_WORKDAYS
    )[0]


def _centre_refusal(user, order: WorkOrder) -> ApplicationError | None:
    """Auditing and closing is the perception centre's (or a unit above it): a station does
    not sign off its own rectification. The break-glass superuser has no unit."""
    if user.unit_id is None or user.unit.contains(order.centre):
        return None
    return ApplicationError(
        "centre_required", _("工单须由民意感知中心或其上级审核办结。"), status=403
    )


def _appeal_refusal(order: WorkOrder, appeal: Appeal | None, today) -> ApplicationError | None:
    if not order.is_open:
        return ApplicationError("order_not_open", _("工单已办结或已撤销，不能申诉。"), status=409)
    until = appeal_deadline(order)
    if today > until:
        return ApplicationError(
            "appeal_too_late",
            _("已超过申诉期限（派发后 %(n)d 个工作日内，截至 %(day)s）。")
            % {"n": settings.APPEAL_WINDOW_WORKDAYS, "day": f"{until:%m月%d日}"},
            status=409,
        )
    if appeal is not None:
        return ApplicationError("appeal_exists", _("该工单已申诉过。"), status=409)
    return None


def _decide_refusal(user, appeal: Appeal | None) -> ApplicationError | None:
    if appeal is None:
        return ApplicationError("no_appeal", _("该工单没有申诉。"), status=404)
    if appeal.status != AppealStatus.PENDING:
        return ApplicationError("appeal_decided", _("该申诉已复核。"), status=409)
    # A higher tier decides; the break-glass superuser has no unit and stands above every tier.
    if user.unit_id is not None and not (
        user.unit.depth < appeal.unit.depth and user.unit.contains(appeal.unit)
    ):
        return ApplicationError("higher_tier_required", _("申诉须由上级单位复核。"), status=403)
    return None


def workorder_action_refusal(
    user, order: WorkOrder, action: str, *, appeal: Appeal | None = None, today=None
) -> ApplicationError | None:
    """Why `user` may not take `action` on `order` now (the error the service raises), or
    None when they may. `appeal` is the order's appeal, if any (see appeal_for)."""
    R = ORDER_LIFECYCLE
    if action in ("accept", "feedback", "appeal"):
        if not has_perm(user, Perm.WORKORDER_HANDLE):
            return PermissionDenied()
        if action == "accept":
            return None if R.can_move(order, S.ACCEPTED) else R.refusal(order)
        if action == "feedback":
            return None if R.can_move(order, S.FEEDBACK) else R.refusal(order)
        return _appeal_refusal(order, appeal, today or timezone.localdate())
    if action in ("close", "return"):
        if not has_perm(user, Perm.WORKORDER_CLOSE):
            return PermissionDenied()
        refusal = _centre_refusal(user, order)
        if refusal is not None:
            return refusal
        if action == "close":
            return None if R.can_move(order, S.CLOSED) else R.refusal(order)
        if order.status != S.AUDIT:
            return ApplicationError(
                "invalid_transition", _("只有待审核的工单可以退回。"), status=409
            )
        return None
    if action == "decide":
        if not has_perm(user, Perm.APPEAL_DECIDE):
            return PermissionDenied()
        return _decide_refusal(user, appeal)
    raise ValueError(f"unknown work-order action {action!r}")


# The actions of an order's page, in the order the page offers them.
WORKORDER_ACTIONS = Actions(
    names=("accept", "feedback", "close", "return", "decide", "appeal"),
    refusal=workorder_action_refusal,
)


def workorder_actions_for(user, order: WorkOrder, *, appeal: Appeal | None = None) -> frozenset:
    """The actions `user` may take on `order` now: the page draws these buttons, and each
    service refuses the others with workorder_action_refusal's error (through
    workorder_action_require). `appeal` is the order's appeal, if any (the page has it)."""
    return WORKORDER_ACTIONS.allowed(user, order, appeal=appeal, today=timezone.localdate())


# The services' guard: raises the refusal, if any.
workorder_action_require = WORKORDER_ACTIONS.require


def workorder_callback_visible_to(user, order: WorkOrder) -> bool:
    """Whether the order's page may link its callback: the callback pages are scoped by
    perception centre, not by the responsible unit."""
    if not has_perm(user, Perm.CALLBACK_VIEW):
        return False
    return user.is_superuser or (user.unit is not None and user.unit.contains(order.centre))


# --- Ratings not at fault that a unit may appeal (评价申诉) ------------------------------------

# A rating the callback found not at fault but an unreasonable demand (诉求不合理: malicious or
# unreasonable) still counts in the unit's satisfaction; the unit may appeal it like an
# at-fault one, with the same deadline and the same higher-tier decision.
APPEALABLE_ATTRIBUTIONS = (Attribution.UNREASONABLE,)


def _ratings_visible(user) -> QuerySet[Callback]:
    """First callbacks finished with an appealable finding, of the user's subtree by the
    responsible unit (the callback pages are the centre's; this is the unit's view)."""
    return Callback.objects.filter(
        scope_q(user, "unit__"),
        kind=CallbackKind.FIRST,
        status=CallbackStatus.DONE,
        attribution__in=APPEALABLE_ATTRIBUTIONS,
    )


def rating_list_visible_to(user) -> QuerySet[Callback]:
    """Unreasonable-demand ratings of the user's subtree, newest finding first, each with
    its appeal (if any) and what the list shows, without further queries."""
    return (
        _ratings_visible(user)
        .select_related("unit", "survey__business_type", "rating_appeal")
        .order_by("-completed_at", "-id")
    )


def rating_get_visible_to(user, pk) -> Callback:
    callback = (
        _ratings_visible(user)
        .filter(pk=pk)
        .select_related("unit", "centre", "officer", "survey__business_type", "survey__event")
        .first()
    )
    if callback is None:
        raise NotFound()
    return callback


def rating_appeal_deadline(callback: Callback):
    """The last day the unit may appeal: APPEAL_WINDOW_WORKDAYS working days after the
    callback's finding (as an at-fault appeal counts from the order's dispatch, which is
    the moment of the finding)."""
    return add_working_days(
        timezone.localtime(callback.completed_at).date(), settings.APPEAL_WINDOW_WORKDAYS
    )[0]


def _rating_appeal_refusal(
    callback: Callback, appeal: Appeal | None, today
) -> ApplicationError | None:
    appealable = (
        callback.kind == CallbackKind.FIRST
        and callback.status == CallbackStatus.DONE
        and callback.attribution in APPEALABLE_ATTRIBUTIONS
    )
    if not appealable:
        return ApplicationError(
            "not_appealable", _("只有认定为“诉求不合理”的评价可以申诉。"), status=409
        )
    if appeal is not None:
        return ApplicationError("appeal_exists", _("该评价已申诉过。"), status=409)
    if callback.survey.excluded_at is not None:
        return ApplicationError("rating_excluded", _("该评价已不计入成绩。"), status=409)
    until = rating_appeal_deadline(callback)
    if today > until:
        return ApplicationError(
            "appeal_too_late",
            _("已超过申诉期限（回访认定后 %(n)d 个工作日内，截至 %(day)s）。")
            % {"n": settings.APPEAL_WINDOW_WORKDAYS, "day": f"{until:%m月%d日}"},
            status=409,
        )
    return None


def rating_action_refusal(
    user, callback: Callback, action: str, *, appeal: Appeal | None = None, today=None
) -> ApplicationError | None:
    """Why `user` may not take `action` ("appeal" or "decide") on an unreasonable-demand
    rating now (the error the service raises), or None when they may."""
    if action == "appeal":
        if not has_perm(user, Perm.WORKORDER_HANDLE):
            return PermissionDenied()
        return _rating_appeal_refusal(callback, appeal, today or timezone.localdate())
    if action == "decide":
        if not has_perm(user, Perm.APPEAL_DECIDE):
            return PermissionDenied()
        if appeal is None:
            return ApplicationError("no_appeal", _("该评价没有申诉。"), status=404)
        return _decide_refusal(user, appeal)
    raise ValueError(f"unknown rating action {action!r}")


RATING_ACTIONS = Actions(names=("decide", "appeal"), refusal=rating_action_refusal)


def rating_actions_for(user, callback: Callback, *, appeal: Appeal | None = None) -> frozenset:
    """The actions `user` may take on the rating now: the page draws these buttons, and the
    services refuse the others with rating_action_refusal's error."""
    return RATING_ACTIONS.allowed(user, callback, appeal=appeal, today=timezone.localdate())


rating_action_require = RATING_ACTIONS.require

"""Reads of accountability cases, always scoped, and the rule of who may act on a case now.

Scope: a supervisor (and an administrator) sees the cases of their subtree; a unit leader the
cases of their own unit only; an evaluator none. Outside the scope a case does not exist.
"""

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from minyi.accountability.access import (
    ACCOUNTABILITY_DECIDE,
    ACCOUNTABILITY_REPLY,
    ACCOUNTABILITY_VIEW,
)
from minyi.accountability.models import (
    CASE_LIFECYCLE,
    AccountabilityCase,
    CaseStatus,
)
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Actions
from minyi.orgs.choices import Role
from minyi.orgs.roles import has_perm

S = CaseStatus
TODO = "todo"  # a pseudo-status for the list's first tab: not decided yet
TODO_STATUSES = (S.OPEN, S.REPLIED)
REPLY_MAX_CHARS = 2000
REASON_MAX_CHARS = 2000


def case_scope_q(user) -> Q:
    """Q restricting AccountabilityCase rows to what `user` may see."""
    if user.is_superuser:
        return Q()
    if not user.is_authenticated or user.unit_id is None or not has_perm(user, ACCOUNTABILITY_VIEW):
        return Q(pk__in=[])
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return user.unit.subtree_filter("unit__")
    if user.role == Role.UNIT_LEADER:
        return Q(unit_id=user.unit_id)
    return Q(pk__in=[])


def _visible(user) -> QuerySet[AccountabilityCase]:
    return AccountabilityCase.objects.filter(case_scope_q(user))


def case_list_visible_to(user, *, status: str = "") -> QuerySet[AccountabilityCase]:
    """Cases the user may see, newest first; `status` is a CaseStatus value or TODO."""
    qs = _visible(user).select_related("unit", "leader", "decided_by")
    if status == TODO:
        qs = qs.filter(status__in=TODO_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def case_counts_visible_to(user) -> dict:
    """Cases per status, undecided ones and all, for the list's tabs: one query."""
    counts = {value: Count("id", filter=Q(status=value)) for value in S.values}
    counts[TODO] = Count("id", filter=Q(status__in=TODO_STATUSES))
    counts["all"] = Count("id")
    return _visible(user).aggregate(**counts)


def case_get_visible_to(user, pk) -> AccountabilityCase:
    case = (
        _visible(user)
        .filter(pk=pk)
        .select_related("unit", "leader", "replied_by", "decided_by")
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def case_for_key(user, key: str) -> AccountabilityCase | None:
    """The case opened for `key` (e.g. "warning:42"), if the user may see it."""
    return _visible(user).filter(key=key).first()


def case_history(case: AccountabilityCase):
    return case.history.select_related("actor", "actor__unit")


# --- What a user may do to a case now -------------------------------------------------------


def is_higher_tier(user, unit) -> bool:
    """A unit strictly above `unit` in the tree holds the user (the break-glass superuser has
    no unit and stands above every tier)."""
    if user.is_superuser and user.unit_id is None:
        return True
    return user.unit_id is not None and (user.unit.depth < unit.depth and user.unit.contains(unit))


def case_action_refusal(user, case: AccountabilityCase, action: str) -> ApplicationError | None:
    """Why `user` may not take `action` on `case` now (the error the service raises), or None
    when they may."""
    R = CASE_LIFECYCLE
    if action == "reply":
        if not has_perm(user, ACCOUNTABILITY_REPLY):
            return PermissionDenied()
        if user.role != Role.UNIT_LEADER or user.unit_id != case.unit_id:
            return ApplicationError(
                "leader_required", _("只有被问责单位的负责人可以提交书面说明。"), status=403
            )
        if case.status == S.REPLIED:
            return ApplicationError(
                "already_replied", _("书面说明已提交，不能重复提交。"), status=409
            )
        return None if R.can_move(case, S.REPLIED) else R.refusal(case)
    if action == "decide":
        if not has_perm(user, ACCOUNTABILITY_DECIDE):
            return PermissionDenied()
        if case.leader_id is not None and user.pk == case.leader_id:
            return ApplicationError("own_case", _("不能对本人被问责的案件作出决定。"), status=403)
        if not is_higher_tier(user, case.unit):
            return ApplicationError(
                "higher_tier_required", _("问责决定须由上级单位的督察或局领导作出。"), status=403
            )
        return None if R.can_move(case, S.DECIDED) else R.refusal(case)
    raise ValueError(f"unknown accountability action {action!r}")


# The actions of a case's page, in the order the page offers them.
CASE_ACTIONS = Actions(names=("reply", "decide"), refusal=case_action_refusal)


def case_actions_for(user, case: AccountabilityCase) -> frozenset:
    """The actions `user` may take on `case` now: the page draws these forms, and each
    service refuses the others with case_action_refusal's error."""
    return CASE_ACTIONS.allowed(user, case)


case_action_require = CASE_ACTIONS.require

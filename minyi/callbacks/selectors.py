"""Reads of callbacks (不满意回访), scoped to the actor's subtree (the centres they belong to)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import Actions
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.perception.models import Survey


def callback_list_visible_to(user, *, status: str = CallbackStatus.OPEN, kind: str = ""):
    """The callback queue of the perception centres in the user's subtree, due first."""
    qs = Callback.objects.filter(scope_q(user, "centre__")).select_related(
        "centre", "unit", "survey__business_type", "assignee"
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if status == CallbackStatus.DONE:
        return qs.order_by("-completed_at", "-id")
    return qs.order_by("due_at", "id")


def callback_counts_visible_to(user) -> dict:
    """Tasks per status, and how many unfinished ones are past due, for the queue's tabs."""
    now = timezone.now()
    return Callback.objects.filter(scope_q(user, "centre__")).aggregate(
        open=Count("id", filter=Q(status=CallbackStatus.OPEN)),
        in_progress=Count("id", filter=Q(status=CallbackStatus.IN_PROGRESS)),
        overdue=Count("id", filter=~Q(status=CallbackStatus.DONE) & Q(due_at__lt=now)),
    )


def callback_get_visible_to(user, pk) -> Callback:
    callback = (
        Callback.objects.filter(scope_q(user, "centre__"), pk=pk)
        .select_related(
            "centre",
            "unit",
            "assignee",
            "officer",
            "work_order",
            "survey__business_type",
            "survey__event",
        )
        .first()
    )
    if callback is None:
        raise NotFound()
    return callback


def citizen_history_visible_to(user, callback: Callback, *, limit: int = 10):
    """The same citizen's other contacts the user may see (same mobile, by its hash), newest
    first, with what came of them: the evaluator sees the whole story on one screen."""
    return (
        Survey.objects.filter(scope_q(user), mobile_hash=callback.survey.mobile_hash)
        .exclude(pk=callback.survey_id)
        .select_related("business_type", "unit")
        .prefetch_related("callbacks")
        .order_by("-created_at")[:limit]
    )


def callback_backlog(user, unit) -> dict:
    """Open and overdue callbacks about contacts at `unit` and below, within the user's scope."""
    callbacks = Callback.objects.filter(scope_q(user, "unit__"), unit.subtree_filter("unit__"))
    return callbacks.aggregate(
        open=Count("id", filter=Q(status=CallbackStatus.OPEN)),
        overdue=Count("id", filter=Q(status=CallbackStatus.OPEN, due_at__lt=timezone.now())),
    )


def callback_action_refusal(user, callback: Callback, action: str, *, now=None):
    """Why `user` may not take `action` (claim, release, record, reveal) on `callback` now
    (the error the service raises), or None when they may. The page draws its buttons from
    callback_actions_for; the services refuse with this."""
    if action == "reveal":
        return None if has_perm(user, Perm.CALLBACK_REVEAL_MOBILE) else PermissionDenied()
    if not has_perm(user, Perm.CALLBACK_WORK):
        return PermissionDenied()
    if callback.status == CallbackStatus.DONE:
        return ApplicationError("callback_done", _("该回访任务已完成。"), status=409)
    held = callback.status == CallbackStatus.IN_PROGRESS and callback.assignee_id == user.pk
    if action in ("release", "record"):
        if held:
            return None
        return ApplicationError(
            "callback_not_held", _("请先领取该任务；它可能已被他人领取。"), status=409
        )
    now = now or timezone.now()
    lapsed = now - timedelta(minutes=settings.CALLBACK_CLAIM_MINUTES)
    if held or callback.status != CallbackStatus.IN_PROGRESS:
        if callback.not_before is not None and callback.not_before > now:
            return ApplicationError(
                "callback_waiting",
                _("上次未接通，%(time)s 后再拨。")
                % {"time": timezone.localtime(callback.not_before).strftime("%H:%M")},
                status=409,
            )
        return None
    if callback.claimed_at is not None and callback.claimed_at < lapsed:
        return None
    holder = callback.assignee.full_name or callback.assignee.username
    return ApplicationError(
        "callback_taken", _("该任务已由 %(name)s 领取。") % {"name": holder}, status=409
    )


CALLBACK_ACTIONS = Actions(
    names=("claim", "release", "record", "reveal"), refusal=callback_action_refusal
)


def callback_actions_for(user, callback: Callback) -> frozenset:
    """The actions `user` may take on `callback` now: the buttons the page draws."""
    return CALLBACK_ACTIONS.allowed(user, callback)


def callback_action_require(user, callback: Callback, action: str, **context) -> None:
    CALLBACK_ACTIONS.require(user, callback, action, **context)

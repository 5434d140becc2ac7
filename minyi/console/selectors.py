"""What is waiting for this person (待办), for the console's home page: counts and links by
the work each role does, every count read through the owning app's scoped selector."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from minyi.callbacks.models import CallbackKind, CallbackStatus
from minyi.callbacks.selectors import callback_list_visible_to
from minyi.inbox.selectors import inbox_list_visible_to
from minyi.opinions import selectors as opinion_selectors
from minyi.opinions.models import OpinionStatus, RewardStatus
from minyi.orgs.roles import Perm, has_perm
from minyi.warnings.models import WarningColour
from minyi.warnings.selectors import warning_counts_visible_to
from minyi.workorders import selectors as order_selectors
from minyi.workorders.models import UNIT_STATUSES, WorkOrderStatus


@dataclass
class Todo:
    key: str  # stable, for data-testid="todo-<key>"
    label: str
    count: int
    url: str
    hint: str = ""
    tone: str = ""  # "", "warn" or "danger": how urgent a non-zero count is


@dataclass
class TodoGroup:
    key: str
    title: str
    items: list[Todo] = field(default_factory=list)
    # The most urgent rows behind the first item, so the first click can be the work itself.
    rows: list = field(default_factory=list)
    rows_kind: str = ""

    @property
    def total(self) -> int:
        return sum(item.count for item in self.items if item.tone != "info")


def _url(name: str, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def _end_of_today():
    today = timezone.localdate()
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def _unit_orders(user, counts) -> TodoGroup:
    order_list = "workorders:order_list"
    group = TodoGroup("orders", _("整改工单"))
    group.items = [
        Todo(
            "dispatched",
            _("待签收"),
            counts[WorkOrderStatus.DISPATCHED],
            _url(order_list, status=WorkOrderStatus.DISPATCHED),
            _("新派发的工单，签收后开始整改"),
            "warn",
        ),
        Todo(
            "accepted",
            _("待反馈"),
            counts[WorkOrderStatus.ACCEPTED],
            _url(order_list, status=WorkOrderStatus.ACCEPTED),
            _("已签收，尚未提交整改情况"),
        ),
        Todo(
            "due_soon",
            _("即将超期"),
            counts[order_selectors.DUE_SOON],
            _url(order_list, status=order_selectors.DUE_SOON),
            _("期限将到，请尽快反馈"),
            "warn",
        ),
        Todo(
            "returned",
            _("被退回"),
            counts[WorkOrderStatus.RETURNED],
            _url(order_list, status=WorkOrderStatus.RETURNED),
            _("追评不满意或审核退回，需重新整改"),
            "danger",
        ),
        Todo(
            "overdue",
            _("已超期"),
            counts[order_selectors.OVERDUE],
            _url(order_list, status=order_selectors.OVERDUE),
            _("已超过整改期限，已上报上级"),
            "danger",
        ),
    ]
    # The unit's own next steps (not the ones waiting for the citizen or the centre).
    group.rows = list(
        order_selectors.workorder_list_visible_to(user, status=order_selectors.OPEN).filter(
            status__in=UNIT_STATUSES
        )[:5]
    )
    group.rows_kind = "orders"
    return group


def _opinions(user) -> TodoGroup:
    counts = opinion_selectors.opinion_counts_visible_to(user)
    opinion_list = "opinions:opinion_list"
    group = TodoGroup("opinions", _("群众诉求"))
    group.items = [
        Todo(
            "opinions_open",
            _("未答复诉求"),
            counts[opinion_selectors.OPEN],
            _url(opinion_list, status=opinion_selectors.OPEN),
            _("建议、投诉、咨询、线索，须在期限内答复"),
            "warn",
        ),
        Todo(
            "opinions_received",
            _("待签收诉求"),
            counts[OpinionStatus.RECEIVED],
            _url(opinion_list, status=OpinionStatus.RECEIVED),
        ),
        Todo(
            "opinions_overdue",
            _("超期未答复"),
            counts[opinion_selectors.OVERDUE],
            _url(opinion_list, status=opinion_selectors.OVERDUE),
            "",
            "danger",
        ),
    ]
    return group


def _callbacks(user) -> TodoGroup:
    now = timezone.now()
    unfinished = ~Q(status=CallbackStatus.DONE)
    counts = (
        callback_list_visible_to(user, status="")
        .order_by()
        .aggregate(
            first=Count("id", filter=Q(status=CallbackStatus.OPEN, kind=CallbackKind.FIRST)),
            follow_up=Count(
                "id", filter=Q(status=CallbackStatus.OPEN, kind=CallbackKind.FOLLOW_UP)
            ),
            due_today=Count(
                "id", filter=unfinished & Q(due_at__gte=now, due_at__lt=_end_of_today())
            ),
            overdue=Count("id", filter=unfinished & Q(due_at__lt=now)),
            mine=Count("id", filter=Q(status=CallbackStatus.IN_PROGRESS, assignee=user)),
        )
    )
    callback_list = "callbacks:callback_list"
    group = TodoGroup("callbacks", _("回访"))
    group.items = [
        Todo(
            "callbacks_first",
            _("待回访"),
            counts["first"],
            _url(callback_list, status=CallbackStatus.OPEN, kind=CallbackKind.FIRST),
            _("群众不满意，24 小时内回访"),
            "warn",
        ),
        Todo(
            "callbacks_follow_up",
            _("待追评"),
            counts["follow_up"],
            _url(callback_list, status=CallbackStatus.OPEN, kind=CallbackKind.FOLLOW_UP),
            _("单位已反馈整改，请群众再评价一次"),
        ),
        Todo(
            "callbacks_due_today",
            _("今日到期"),
            counts["due_today"],
            _url(callback_list, status=CallbackStatus.OPEN),
            "",
            "warn",
        ),
        Todo(
            "callbacks_overdue",
            _("已超时"),
            counts["overdue"],
            _url(callback_list, status=CallbackStatus.OPEN),
            _("超过 24 小时未完成"),
            "danger",
        ),
        Todo(
            "callbacks_mine",
            _("我正在回访"),
            counts["mine"],
            _url(callback_list, status=CallbackStatus.IN_PROGRESS),
        ),
    ]
    group.rows = list(callback_list_visible_to(user, status=CallbackStatus.OPEN)[:5])
    group.rows_kind = "callbacks"
    return group


def _inbox(user) -> Todo:
    return Todo(
        "inbox",
        _("待处理短信"),
        inbox_list_visible_to(user).count(),
        reverse("inbox:inbox"),
        _("无法识别的群众回复，须人工处理"),
        "warn",
    )


def _review(user, counts) -> TodoGroup:
    order_list = "workorders:order_list"
    group = TodoGroup("review", _("审核与复核"))
    if has_perm(user, Perm.WORKORDER_CLOSE):
        group.items.append(
            Todo(
                "audit",
                _("待审核工单"),
                counts[WorkOrderStatus.AUDIT],
                _url(order_list, status=WorkOrderStatus.AUDIT),
                _("追评后待审核办结"),
                "warn",
            )
        )
    if has_perm(user, Perm.APPEAL_DECIDE):
        group.items.append(
            Todo(
                "appeals",
                _("待复核申诉"),
                order_selectors.appeal_list_pending_for(user).count(),
                reverse("workorders:appeal_list"),
                _("下级单位对责任认定的申诉"),
                "warn",
            )
        )
    group.items.append(
        Todo(
            "orders_overdue",
            _("超期工单"),
            counts[order_selectors.OVERDUE],
            _url(order_list, status=order_selectors.OVERDUE),
            _("下级单位超过期限未反馈"),
            "danger",
        )
    )
    if has_perm(user, Perm.REWARD_APPROVE):
        proposed = (
            opinion_selectors.reward_list_for(user).filter(status=RewardStatus.PROPOSED).count()
        )
        group.items.append(
            Todo("rewards", _("待审批奖励"), proposed, reverse("opinions:reward_list"))
        )
    if has_perm(user, Perm.WORKORDER_CLOSE):
        group.rows = list(
            order_selectors.workorder_list_visible_to(user, status=WorkOrderStatus.AUDIT)[:5]
        )
        group.rows_kind = "orders"
    return group


def _warnings(user) -> TodoGroup:
    counts = warning_counts_visible_to(user)
    warning_list = "warnings:warning_list"
    group = TodoGroup("warnings", _("三色预警"))
    group.items = [
        Todo(
            "warnings_red",
            _("红色预警"),
            counts[WarningColour.RED],
            _url(warning_list, colour=WarningColour.RED),
            _("须核查并督促整改"),
            "danger",
        ),
        Todo(
            "warnings_orange",
            _("橙色预警"),
            counts[WarningColour.ORANGE],
            _url(warning_list, colour=WarningColour.ORANGE),
            _("须关注，防止转红"),
            "warn",
        ),
    ]
    return group


def todo_for(user) -> list[TodoGroup]:
    """The groups of things waiting for `user`, in the order their role works through them.
    Which groups appear follows the user's permissions; each count is scoped to their
    subtree by the selector it comes from."""

    groups: list[TodoGroup] = []
    order_counts = None

    def orders():
        nonlocal order_counts
        if order_counts is None:
            order_counts = order_selectors.workorder_counts_visible_to(user)
        return order_counts

    if has_perm(user, Perm.CALLBACK_WORK):
        groups.append(_callbacks(user))
    if has_perm(user, Perm.WORKORDER_HANDLE):
        groups.append(_unit_orders(user, orders()))
    if has_perm(user, Perm.OPINION_HANDLE):
        groups.append(_opinions(user))
    if has_perm(user, Perm.WORKORDER_CLOSE) or has_perm(user, Perm.APPEAL_DECIDE):
        groups.append(_review(user, orders()))
    if has_perm(user, Perm.WARNING_VIEW) and (
        has_perm(user, Perm.APPEAL_DECIDE) or has_perm(user, Perm.WARNING_REPLY)
    ):
        groups.append(_warnings(user))
    if has_perm(user, Perm.INBOX_VIEW) and has_perm(user, Perm.CALLBACK_WORK):
        groups[0].items.append(_inbox(user))
    return groups

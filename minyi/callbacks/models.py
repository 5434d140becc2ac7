"""Callbacks (不满意回访): a person phones back every unsatisfied citizen, and once more after
the rectification (追评). The tables keep their first names (perception_callback…): the models
moved here from perception with their data."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.pii import EncryptedTextField
from minyi.perception.models import Rating


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("待回访")
    IN_PROGRESS = "in_progress", _("回访中")
    DONE = "done", _("已完成")


# Every change of a callback's status is one of these, made by a service that updates the row
# only while it is still in the old status and records a CallbackEvent.
CALLBACK_ALLOWED = {
    CallbackStatus.OPEN: {CallbackStatus.IN_PROGRESS, CallbackStatus.DONE},
    CallbackStatus.IN_PROGRESS: {CallbackStatus.OPEN, CallbackStatus.DONE},
    CallbackStatus.DONE: set(),
}


class CallbackKind(models.TextChoices):
    FIRST = "first", _("不满意回访")
    FOLLOW_UP = "follow_up", _("整改追评")
    # 跑多次回访: a rule found the citizen came back several times for the same business;
    # the centre asks why (dashboards.repeat_rules opens it; no rating behind it).
    REPEAT = "repeat", _("跑多次回访")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("已接通")
    NO_ANSWER = "no_answer", _("无人接听")
    REFUSED = "refused", _("拒绝回访")
    WRONG_NUMBER = "wrong_number", _("号码错误")


class Attribution(models.TextChoices):
    """The evaluator's finding on an unsatisfied rating (责任认定)."""

    AT_FAULT = "at_fault", _("民警责任")
    EXPLAINED = "explained", _("群众误解已解释")
    UNREASONABLE = "unreasonable", _("诉求不合理")
    OUTSIDE_DUTY = "outside_duty", _("非公安职责")
    UNREACHABLE = "unreachable", _("无法联系")


class Callback(models.Model):
    """A person phones an unsatisfied citizen back (回访), within 24 hours; and again, once the
    unit has rectified, to ask whether it is now resolved (追评)."""

    survey = models.ForeignKey(
        "perception.Survey", on_delete=models.PROTECT, related_name="callbacks"
    )
    kind = models.CharField(
        _("类型"), max_length=10, choices=CallbackKind.choices, default=CallbackKind.FIRST
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("整改工单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    centre = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("民意感知中心"),
        on_delete=models.PROTECT,
        related_name="callbacks",
    )
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("办理单位"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=CallbackStatus.choices, default=CallbackStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(_("回访时限"))
    # Who holds the task now; a claim lapses after CALLBACK_CLAIM_MINUTES without a save.
    assignee = models.ForeignKey(
        "orgs.User",
        verbose_name=_("访评员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    # After an unanswered call the task waits, so the next attempt is at another time of day.
    not_before = models.DateTimeField(_("下次可拨打时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("拨打次数"), default=0)
    outcome = models.CharField(
        _("拨打结果"), max_length=12, choices=CallOutcome.choices, blank=True
    )
    reason_text = EncryptedTextField(_("不满意原因"), blank=True)
    tags = models.JSONField(_("原因标签"), default=list, blank=True)
    suggested_tags = models.JSONField(_("建议标签"), default=list, blank=True)
    attribution = models.CharField(
        _("责任认定"), max_length=14, choices=Attribution.choices, blank=True
    )
    officer = models.ForeignKey(
        "orgs.Officer",
        verbose_name=_("责任民警"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 追评: the citizen's second rating, on the same five-level scale.
    follow_up_rating = models.PositiveSmallIntegerField(
        _("追评"), null=True, blank=True, choices=Rating.choices
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "perception_callback"
        verbose_name = _("不满意回访任务")
        verbose_name_plural = _("不满意回访任务")
        indexes = [
            models.Index(fields=["status", "due_at"], name="callback_queue_idx"),
            models.Index(fields=["completed_at"], name="callback_completed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey"], condition=models.Q(kind="first"), name="callback_first_once"
            ),
            models.UniqueConstraint(
                fields=["work_order"],
                condition=models.Q(kind="follow_up", status__in=["open", "in_progress"]),
                name="callback_one_open_follow_up",
            ),
            # One 跑多次回访 in the queue per survey: a second rule that matches the same
            # trips joins the open task instead of phoning the citizen twice.
            models.UniqueConstraint(
                fields=["survey"],
                condition=models.Q(kind="repeat", status__in=["open", "in_progress"]),
                name="callback_one_open_repeat",
            ),
        ]

    def __str__(self):
        return f"回访任务 #{self.pk}"

    @property
    def is_overdue(self) -> bool:
        return self.status != CallbackStatus.DONE and self.due_at < timezone.now()


class CallbackAttempt(models.Model):
    """One phone call of a callback (up to 3 before the citizen counts as unreachable)."""

    callback = models.ForeignKey(Callback, on_delete=models.CASCADE, related_name="calls")
    evaluator = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=12, choices=CallOutcome.choices)
    # What the evaluator noted about the call (at most 200 characters, cut by the service):
    # often the number that did answer, so encrypted like the citizen's own text.
    note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "perception_callbackattempt"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.callback_id}: {self.outcome}"


class CallbackEvent(LifecycleEvent):
    """A callback's history: who moved it from which status to which, why, when. Mostly fixed
    words, but also a supervisor's appeal decision (free text), so the note is encrypted."""

    STATUS = CallbackStatus

    callback = models.ForeignKey(Callback, on_delete=models.CASCADE, related_name="history")

    class Meta(LifecycleEvent.Meta):
        db_table = "perception_callbackevent"

    def __str__(self):
        return f"{self.callback_id}: {self.from_status} → {self.to_status}"


CALLBACK_LIFECYCLE = Lifecycle(
    model=Callback,
    allowed=CALLBACK_ALLOWED,
    event_model=CallbackEvent,
    event_fk="callback",
    refused=_("该任务当前状态不能进行此操作。"),
    stale=_("任务状态已变化，请刷新后重试。"),
    audited=False,
)

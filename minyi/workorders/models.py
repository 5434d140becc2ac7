"""Rectification work orders (整改工单) and appeals (申诉复核): capability 1, steps 5 of
DOMAIN.md. A callback that finds the police at fault dispatches an order to the unit; the unit
accepts it, rectifies and reports back with evidence; an evaluator asks the citizen once more
(追评); the centre audits and closes it. A unit may contest the attribution by appeal, and
may appeal a rating the callback found not at fault but an unreasonable demand."""

import os

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.models import Escalation
from minyi.core.pii import EncryptedTextField
from minyi.perception.models import SATISFIED_RATINGS


class WorkOrderStatus(models.TextChoices):
    DISPATCHED = "dispatched", _("已派发")
    ACCEPTED = "accepted", _("已签收")
    FEEDBACK = "feedback", _("已反馈待追评")
    RETURNED = "returned", _("已退回重新整改")
    AUDIT = "audit", _("待审核")
    CLOSED = "closed", _("已办结")
    CANCELLED = "cancelled", _("已撤销")


S = WorkOrderStatus
# The only moves a work order makes; each is a service that changes the row only while it is
# still in the old status, and writes a WorkOrderEvent.
WORKORDER_ALLOWED = {
    S.DISPATCHED: {S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.FEEDBACK, S.CANCELLED},
    S.RETURNED: {S.FEEDBACK, S.CANCELLED},
    S.FEEDBACK: {S.AUDIT, S.RETURNED, S.CANCELLED},
    S.AUDIT: {S.CLOSED, S.RETURNED, S.CANCELLED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
OPEN_STATUSES = (S.DISPATCHED, S.ACCEPTED, S.RETURNED, S.FEEDBACK, S.AUDIT)
# The unit has work to do in these; the deadline runs against the unit only then.
UNIT_STATUSES = (S.DISPATCHED, S.ACCEPTED, S.RETURNED)


class WorkOrder(Escalation):
    number = models.CharField(_("工单号"), max_length=24, unique=True)
    callback = models.OneToOneField(
        "callbacks.Callback",
        verbose_name=_("来源回访"),
        on_delete=models.PROTECT,
        related_name="work_order_created",
    )
    survey = models.ForeignKey("perception.Survey", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("责任单位"),
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    centre = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("民意感知中心"), on_delete=models.PROTECT, related_name="+"
    )
    business_type = models.ForeignKey(
        "perception.BusinessType",
        verbose_name=_("业务类型"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    officer = models.ForeignKey(
        "orgs.Officer",
        verbose_name=_("责任民警"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=WorkOrderStatus.choices, default=S.DISPATCHED
    )
    problem = EncryptedTextField(_("问题描述"))
    tags = models.JSONField(_("原因标签"), default=list, blank=True)
    dispatched_at = models.DateTimeField(_("派发时间"), default=timezone.now)
    # The last working day for the unit's feedback (整改期限), from the business type's
    # rectification_days; provisional when the calendar of that year is not known yet.
    deadline = models.DateField(_("整改期限"))
    deadline_provisional = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    feedback_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    # Staff free text is encrypted like the citizen's: it may name the citizen's number.
    feedback_text = EncryptedTextField(_("整改情况"), blank=True)
    follow_up_rating = models.PositiveSmallIntegerField(_("追评"), null=True, blank=True)
    returns = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # True resolution (真实解决): closed after the citizen rated satisfied on the 追评.
    resolved = models.BooleanField(_("群众认可解决"), default=False)
    deadline_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("整改工单")
        verbose_name_plural = _("整改工单")
        indexes = [
            models.Index(fields=["status", "deadline"], name="workorder_status_deadline_idx"),
            models.Index(fields=["dispatched_at"], name="workorder_dispatched_idx"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_overdue(self) -> bool:
        return self.status in UNIT_STATUSES and self.deadline < timezone.localdate()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def follow_up_satisfied(self) -> bool:
        """The citizen rated satisfied on the 追评: closing then counts as true resolution."""
        return self.follow_up_rating in SATISFIED_RATINGS


class WorkOrderEvent(LifecycleEvent):
    """A work order's history: who moved it from which status to which, why, when. Staff
    notes and the citizen's words from the 追评 call are encrypted (LifecycleEvent.note)."""

    STATUS = WorkOrderStatus

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="history")

    def __str__(self):
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


# Every move of a work order: WORKORDER_ALLOWED, checked and recorded in WorkOrderEvent.
ORDER_LIFECYCLE = Lifecycle(
    model=WorkOrder,
    allowed=WORKORDER_ALLOWED,
    event_model=WorkOrderEvent,
    event_fk="order",
    refused=_("工单当前状态为“%(status)s”，不能进行此操作。"),
    stale=_("工单状态已变化，请刷新后重试。"),
    final={S.CLOSED: ("order_closed", _("该工单已办结。"))},
)


def evidence_path(instance, filename):
    """evidence/<year>/<month>/<order>-<time><suffix>: the suffix is the one the content
    check chose (.jpg, .png, .pdf), never the uploader's."""
    suffix = os.path.splitext(filename)[1]
    return f"evidence/{timezone.now():%Y/%m}/{instance.order_id}-{timezone.now():%H%M%S%f}{suffix}"


class Evidence(models.Model):
    """A file the unit attaches to its feedback (整改佐证). Stored outside the web root and
    served only through a scoped view."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=evidence_path)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    UPHELD = "upheld", _("申诉成立")
    REJECTED = "rejected", _("申诉驳回")


class Appeal(models.Model):
    """A unit contests a rating (申诉复核); a supervisor of a higher tier decides, and an
    upheld appeal takes the rating out of the figures. Either the at-fault attribution behind
    a work order (`order`), or a rating the callback found not at fault but an unreasonable
    demand (诉求不合理: a malicious or unreasonable rating), which has no work order
    (`callback`, the first callback that classified it). Exactly one of the two is set."""

    order = models.OneToOneField(
        WorkOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="appeal"
    )
    callback = models.OneToOneField(
        "callbacks.Callback",
        verbose_name=_("来源回访"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rating_appeal",
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField(_("申诉理由"))
    status = models.CharField(
        _("状态"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING
    )
    filed_by = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(_("复核意见"), blank=True)

    class Meta:
        verbose_name = _("申诉复核")
        verbose_name_plural = _("申诉复核")
        indexes = [models.Index(fields=["status", "filed_at"], name="appeal_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(order__isnull=False, callback__isnull=True)
                | models.Q(order__isnull=True, callback__isnull=False),
                name="appeal_order_or_callback",
            )
        ]

    def __str__(self):
        return f"申诉 #{self.pk}"

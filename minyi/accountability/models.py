"""Accountability cases (问责): one place for every case in which a unit's leader is held to
account, whatever opened it: two "last" marks in assessments within a year (DOMAIN.md
capability 2) or a red warning (三色预警, capability 5: Shaoxing's 整改建议书, 执法过错
liability, post changes).

A case keeps the evidence as it stood when the case opened (figures with intervals, reasons
from callbacks and opinions), the leader's written reply, and the decision with who decided
and why; its history is a lifecycle like every other tracked row.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField


class CaseTrigger(models.TextChoices):
    ASSESSMENT = "assessment", _("考评两次排名末位")
    WARNING = "warning", _("三色预警")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("待说明")
    REPLIED = "replied", _("已说明，待决定")
    DECIDED = "decided", _("已决定")


class Decision(models.TextChoices):
    INTERVIEW = "interview", _("约谈")
    CIRCULATE = "circulate", _("通报")
    REASSIGN = "reassign", _("调整岗位")
    RECTIFY = "rectify", _("整改建议书")
    LIABILITY = "liability", _("执法过错责任追究")
    NONE = "none", _("不予问责")


CASE_ALLOWED = {
    CaseStatus.OPEN: {CaseStatus.REPLIED, CaseStatus.DECIDED},
    CaseStatus.REPLIED: {CaseStatus.DECIDED},
}


class AccountabilityCase(BaseModel):
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    # The leader held to account (the unit's leader when the case opened).
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    trigger = models.CharField(_("启动原因"), max_length=12, choices=CaseTrigger.choices)
    # What opened it: e.g. {"assessments": [3, 5], "results": [311, 540]} or {"warning": 42};
    # with labels and links, so the case reads well even after the source changes.
    source = models.JSONField(default=dict)
    # Figures with intervals and sample sizes, and the reasons behind them, as they stood.
    evidence = models.JSONField(default=dict)
    # The rule version that produced the figures (e.g. "assess-2026.1 / stats-2026.1").
    rule_version = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    reply = EncryptedTextField(_("书面说明"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(_("处理决定"), max_length=12, choices=Decision.choices, blank=True)
    decision_reason = EncryptedTextField(_("决定理由"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # An idempotency key: one case per unit and trigger occurrence (e.g. "assessment:2026:17").
    key = models.CharField(max_length=80, unique=True)

    class Meta:
        verbose_name = _("问责案件")
        verbose_name_plural = _("问责案件")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="decided", decided_at__isnull=False) & ~Q(decision="")
                | ~Q(status="decided") & Q(decision=""),
                name="accountability_decided_has_decision",
            ),
        ]

    def __str__(self):
        return f"问责 #{self.pk}"


class CaseEvent(LifecycleEvent):
    STATUS = CaseStatus

    case = models.ForeignKey(AccountabilityCase, on_delete=models.CASCADE, related_name="history")

    class Meta(LifecycleEvent.Meta):
        verbose_name = _("问责记录")
        verbose_name_plural = _("问责记录")

    def __str__(self):
        return f"{self.case_id}: {self.from_status} → {self.to_status}"


CASE_LIFECYCLE = Lifecycle(
    model=AccountabilityCase,
    allowed=CASE_ALLOWED,
    event_model=CaseEvent,
    event_fk="case",
    refused=_("该问责案件已作出决定。"),
    stale=_("该问责案件已被他人处理，请刷新后再试。"),
)

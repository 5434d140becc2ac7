"""Console notifications (消息通知) to staff, mirrored by SMS to those with a mobile on file."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ORDER_ARRIVED = "order_arrived", _("新整改工单")
    ORDER_DUE_SOON = "order_due_soon", _("工单即将到期")
    ORDER_OVERDUE = "order_overdue", _("工单超期升级")
    ORDER_RETURNED = "order_returned", _("工单被退回")
    APPEAL_FILED = "appeal_filed", _("新申诉待复核")
    APPEAL_DECIDED = "appeal_decided", _("申诉已复核")
    WARNING = "warning", _("预警")
    OPINION_ARRIVED = "opinion_arrived", _("新群众诉求")
    OPINION_DUE = "opinion_due", _("诉求即将到期")
    OPINION_OVERDUE = "opinion_overdue", _("诉求超期升级")
    OPINION_UNSATISFIED = "opinion_unsatisfied", _("群众不满意答复")
    REWARD_PROPOSED = "reward_proposed", _("线索奖励待审批")
    REWARD_DECIDED = "reward_decided", _("线索奖励已审批")


class Notification(models.Model):
    recipient = models.ForeignKey(
        "orgs.User", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    text = models.CharField(max_length=200)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.text

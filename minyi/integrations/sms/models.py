"""SMS in and out (短信收发): the outbox every message goes through, every message received,
delivery reports, and the opt-out list.

Sending is exactly-once: an `OutboundSms` row is written in the same transaction as the
decision to send; senders claim rows (SELECT … FOR UPDATE SKIP LOCKED), mark them SENDING,
hand them to the gateway and record the outcome. A row left in SENDING by a killed sender has
an unknown outcome and is resolved (by a delivery report, or by the gateway's silence) before
it is ever sent again.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.pii import EncryptedTextField, mask_mobile, mask_text


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENDING = "sending", _("发送中")
    UNKNOWN = "unknown", _("结果待确认")
    SENT = "sent", _("网关已接收")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")


class SmsPurpose(models.TextChoices):
    SURVEY = "survey", _("满意度回访")
    REMINDER = "reminder", _("回访提醒")
    OPT_OUT_CONFIRM = "opt_out_confirm", _("退订确认")
    NOTIFICATION = "notification", _("工作通知")
    OTP = "otp", _("验证码")
    # To the citizen, unasked: "your rating reached us", "your problem was rectified".
    ACKNOWLEDGEMENT = "ack", _("办理告知")
    # A person's answer to a message in the SMS inbox (短信收件箱).
    INBOX_REPLY = "inbox_reply", _("收件箱回复")
    # A poll's questionnaire invitation and its one reminder (民意测评).
    POLL = "poll", _("民意测评邀请")
    # An update of a public-benefit action the citizen follows (惠民实事进展).
    ACTION_UPDATE = "action_update", _("实事进展通知")
    # A community's safety notice to its subscribers (治安通报、安全提醒).
    SAFETY_NOTICE = "safety_notice", _("安全提醒")
    # A due date of the citizen's own (年检、换证、证件到期、未处理违法) from a business system.
    SERVICE_REMINDER = "service_reminder", _("办事提醒")
    # A mobile service appointment's confirmation and its day-before reminder (移动办证).
    APPOINTMENT = "appointment", _("预约通知")
    # A volunteer's activity: signed up, changed, thanked (志愿活动).
    VOLUNTEER = "volunteer", _("志愿活动通知")


class OutboundSms(models.Model):
    to_mobile = EncryptedTextField(_("接收号码"))
    to_mobile_hash = models.CharField(max_length=64, db_index=True)
    body = models.TextField(_("内容"))
    purpose = models.CharField(_("用途"), max_length=20, choices=SmsPurpose.choices)
    survey = models.ForeignKey(
        "perception.Survey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    backend = models.CharField(_("通道"), max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gateway_reply = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("下行短信")
        verbose_name_plural = _("下行短信")
        indexes = [
            models.Index(
                fields=["not_before", "id"],
                name="sms_outbound_queued_idx",
                condition=Q(status="queued"),
            ),
            models.Index(
                fields=["claimed_at"],
                name="sms_outbound_inflight_idx",
                condition=Q(status__in=["sending", "unknown"]),
            ),
        ]

    def __str__(self):
        return f"→ {mask_mobile(self.to_mobile)} [{self.status}]"


class DeliveryReport(models.Model):
    """One delivery report (状态报告) per message and type: gateways repeat them."""

    message = models.ForeignKey(OutboundSms, on_delete=models.CASCADE, related_name="reports")
    dlr_type = models.PositiveSmallIntegerField()
    received_at = models.DateTimeField(default=timezone.now)
    raw = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "dlr_type"], name="sms_dlr_once_per_type")
        ]

    def __str__(self):
        return f"DLR {self.dlr_type} for #{self.message_id}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("已接收")
    PROCESSED = "processed", _("已处理")
    NEEDS_REVIEW = "needs_review", _("待人工查看")
    REVIEWED = "reviewed", _("已人工处理")


class InboxAction(models.TextChoices):
    """How a person handled a message of the SMS inbox (短信收件箱)."""

    READ = "read", _("已查看")
    RATING = "rating", _("记为评价")
    CALLBACK = "callback", _("开启回访")
    OPINION = "opinion", _("转为留言")
    REPLY = "reply", _("短信回复")


class InboundSms(models.Model):
    """Every message a citizen sends, stored before anything else happens to it."""

    gateway = models.CharField(_("网关"), max_length=20)
    gateway_message_id = models.CharField(_("网关消息编号"), max_length=100)
    from_mobile = EncryptedTextField(_("发送号码"))
    from_mobile_hash = models.CharField(max_length=64, db_index=True)
    # The number as the gateway gave it, when it is not a valid mainland mobile.
    from_raw = models.CharField(max_length=40, blank=True)
    to_number = models.CharField(_("接收号码"), max_length=40, blank=True)
    # Citizens' free text may contain numbers and names: encrypted like a mobile number.
    text = EncryptedTextField(_("内容"))
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("状态"), max_length=14, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    # Why it needs a person: "unparsed", "no_open_survey", "invalid_sender".
    review_reason = models.CharField(_("原因"), max_length=20, blank=True)
    handled_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_action = models.CharField(
        _("处理方式"), max_length=10, choices=InboxAction.choices, blank=True
    )
    # What the handling made: an opinion's number, a callback's id, the rating given.
    handled_ref = models.CharField(_("处理结果"), max_length=40, blank=True)
    # The unit whose staff see it in their inbox: the unit of the sender's latest contact.
    unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("上行短信")
        verbose_name_plural = _("上行短信")
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_message_id"], name="sms_inbound_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="sms_inbound_review_idx",
                condition=Q(status="needs_review"),
            ),
            # The worker's inbound_process claims the messages not read yet, oldest first.
            models.Index(
                fields=["id"], name="sms_inbound_received_idx", condition=Q(status="received")
            ),
        ]

    def __str__(self):
        return f"← {mask_mobile(self.from_mobile)} {mask_text(self.text)[:20]}"


class OptOut(models.Model):
    """A mobile that asked for no more surveys (退订). Keyed by hash only: we keep no number
    for a person who asked us to leave them alone."""

    mobile_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20)  # sms / h5 / staff
    inbound = models.ForeignKey(InboundSms, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("退订号码")
        verbose_name_plural = _("退订号码")

    def __str__(self):
        return f"opt-out {self.mobile_hash[:8]}…"

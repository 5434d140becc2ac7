"""Opinions (警务e广场): suggestions, complaints, consultations and tips (线索举报) from
citizens, each with a tracking number, routed to a unit, answered within a deadline in working
days, and rated by the citizen. Capability 4 of DOMAIN.md.

A verified tip can earn a reward (线索奖励), recorded from proposal through approval to
payment. A tipster's identity is shown only to roles that must see it, and every view of it is
audited; an anonymous author's mobile is never shown to anyone.
"""

import os

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.models import Escalation
from minyi.core.pii import EncryptedTextField, mask_mobile


class OpinionKind(models.TextChoices):
    # With a context: "建议" is also a suggested tag and "投诉" a business category.
    SUGGESTION = "suggestion", pgettext_lazy("opinion kind", "建议")
    COMPLAINT = "complaint", pgettext_lazy("opinion kind", "投诉")
    CONSULTATION = "consultation", pgettext_lazy("opinion kind", "咨询")
    TIP = "tip", pgettext_lazy("opinion kind", "线索举报")


class OpinionStatus(models.TextChoices):
    RECEIVED = "received", _("待签收")
    ACCEPTED = "accepted", _("办理中")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已办结")


S = OpinionStatus
# The only moves an opinion makes. A transfer (转办) keeps it RECEIVED at another unit.
OPINION_ALLOWED = {
    S.RECEIVED: {S.RECEIVED, S.ACCEPTED},
    S.ACCEPTED: {S.ANSWERED, S.RECEIVED},
    S.ANSWERED: {S.CLOSED},
    S.CLOSED: set(),
}
OPEN_STATUSES = (S.RECEIVED, S.ACCEPTED)


class OpinionChannel(models.TextChoices):
    """Where the citizen's words came in (受理渠道). Every channel enters the same flow:
    routing, deadline, answer, rating. All but the first two are keyed in by staff (线下录入)."""

    H5 = "h5", _("网上留言")
    SMS = "sms", _("群众短信")
    PLAZA_DAY = "plaza_day", _("广场警务活动日")
    MAILBOX = "mailbox", _("邮递箱来信")
    MEETING = "meeting", _("恳谈会")
    PHONE = "phone", _("局长（民警）电话")
    PETITION = "petition", _("信访")
    RADIO = "radio", _("110直播室")
    WECHAT = "wechat", _("微信警务群")


ONLINE_CHANNELS = (OpinionChannel.H5, OpinionChannel.SMS)


class ReplyBy(models.TextChoices):
    """How the answer reaches the citizen: by SMS when there is a mobile, by a printed letter
    when there is only an address, or not at all (an anonymous note in the mailbox)."""

    SMS = "sms", _("短信答复")
    LETTER = "letter", _("书面回函")
    NONE = "none", _("无联系方式")


class TipVerdict(models.TextChoices):
    PENDING = "pending", _("待核实")
    VERIFIED = "verified", _("核实属实")
    UNFOUNDED = "unfounded", _("核实不实")


class OpinionPolicy(models.Model):
    """How many working days a unit has to answer each kind (答复期限), set by the bureau."""

    kind = models.CharField(_("类别"), max_length=16, choices=OpinionKind.choices, unique=True)
    answer_days = models.PositiveSmallIntegerField(_("答复期限（工作日）"))

    class Meta:
        verbose_name = _("答复期限")
        verbose_name_plural = _("答复期限")

    def __str__(self):
        return f"{self.get_kind_display()}：{self.answer_days}"


class Opinion(Escalation):
    number = models.CharField(_("受理编号"), max_length=20, unique=True)
    kind = models.CharField(_("类别"), max_length=16, choices=OpinionKind.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=OpinionStatus.choices, default=S.RECEIVED
    )
    content = EncryptedTextField(_("内容"))
    # The citizen's own words like `content` (an address may come with a number): encrypted;
    # at most 100 characters, checked by opinion_submit. Routing reads it in Python only.
    area = EncryptedTextField(_("涉及地点或区域"), blank=True)
    # The unit the citizen chose (or the community's station); `unit` is where it is now.
    requested_unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("承办单位"),
        on_delete=models.PROTECT,
        related_name="opinions",
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("关联案件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opinions",
    )
    anonymous = models.BooleanField(_("匿名"), default=False)
    contact_name = EncryptedTextField(_("姓名"), blank=True)
    # Blank only for an offline opinion that came without a number (then no SMS is tried).
    mobile = EncryptedTextField(_("手机"), blank=True)
    mobile_hash = models.CharField(max_length=64, db_index=True, blank=True)
    channel = models.CharField(
        _("受理渠道"), max_length=12, choices=OpinionChannel.choices, default=OpinionChannel.H5
    )
    reply_by = models.CharField(
        _("答复方式"), max_length=8, choices=ReplyBy.choices, default=ReplyBy.SMS
    )
    # A letter's answer goes to this address (书面回函): encrypted like the mobile.
    postal_address = EncryptedTextField(_("通信地址"), blank=True)
    # Offline channels: the citizen agreed that their contact is kept to answer them (PIPL).
    consent = models.BooleanField(_("同意留存联系方式"), default=False)
    entered_by = models.ForeignKey(
        "orgs.User",
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    letter_printed_at = models.DateTimeField(_("回函打印时间"), null=True, blank=True)
    wall_consent = models.BooleanField(_("同意公开"), default=False)
    wall_hidden = models.BooleanField(_("不在民意墙展示"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now, db_index=True)
    deadline = models.DateField(_("答复期限"))
    deadline_provisional = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    # Staff free text is encrypted like the citizen's: an answer may repeat their number.
    answer = EncryptedTextField(_("答复内容"), blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_on_time = models.BooleanField(_("按期答复"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("群众评价"), null=True, blank=True)
    rating_comment = EncryptedTextField(_("评价意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    tip_verdict = models.CharField(
        _("核实结果"), max_length=10, choices=TipVerdict.choices, blank=True
    )
    tip_verdict_note = EncryptedTextField(_("核实情况"), blank=True)
    tip_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("群众诉求")
        verbose_name_plural = _("群众诉求")
        indexes = [
            models.Index(fields=["status", "deadline"], name="opinion_status_deadline_idx"),
            models.Index(fields=["kind", "status"], name="opinion_kind_status_idx"),
            models.Index(fields=["channel", "submitted_at"], name="opinion_channel_time_idx"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.deadline < timezone.localdate()

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)


class OpinionEvent(LifecycleEvent):
    """An opinion's history: who moved it, from which status to which, at which unit, why."""

    STATUS = OpinionStatus

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="history")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"{self.opinion_id}: {self.from_status} → {self.to_status}"


# Every move of an opinion: OPINION_ALLOWED, checked and recorded in OpinionEvent (with the
# unit that holds it after the move).
OPINION_LIFECYCLE = Lifecycle(
    model=Opinion,
    allowed=OPINION_ALLOWED,
    event_model=OpinionEvent,
    event_fk="opinion",
    refused=_("该留言当前状态为“%(status)s”，不能进行此操作。"),
    stale=_("留言状态已变化，请刷新后重试。"),
)


def photo_path(instance, filename):
    suffix = os.path.splitext(filename)[1]
    now = timezone.now()
    return f"opinion-photos/{now:%Y/%m}/{instance.opinion_id}-{now:%H%M%S%f}{suffix}"


class OpinionPhoto(models.Model):
    """A photo the citizen attached, or staff's photo of the paper an offline opinion came on
    (`paper`: the letter, the petition form). Served only through a scoped staff view."""

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path)
    paper = models.BooleanField(_("纸质原件照片"), default=False)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.file.name


class RewardStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审批")
    APPROVED = "approved", _("已批准待发放")
    PAID = "paid", _("已发放")
    REJECTED = "rejected", _("未批准")


REWARD_ALLOWED = {
    RewardStatus.PROPOSED: {RewardStatus.APPROVED, RewardStatus.REJECTED},
    RewardStatus.APPROVED: {RewardStatus.PAID},
    RewardStatus.PAID: set(),
    RewardStatus.REJECTED: set(),
}


class TipReward(models.Model):
    """A reward for a verified tip (线索奖励): the unit proposes, a supervisor of a higher tier
    approves, the unit records the payment."""

    opinion = models.OneToOneField(Opinion, on_delete=models.PROTECT, related_name="reward")
    amount = models.DecimalField(_("奖励金额（元）"), max_digits=9, decimal_places=2)
    reason = EncryptedTextField(_("奖励理由"))
    status = models.CharField(
        _("状态"), max_length=10, choices=RewardStatus.choices, default=RewardStatus.PROPOSED
    )
    proposed_by = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(_("审批意见"), blank=True)
    paid_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("发放凭证号"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("线索奖励")
        verbose_name_plural = _("线索奖励")

    def __str__(self):
        return f"{self.opinion_id} ¥{self.amount}"


class RewardEvent(LifecycleEvent):
    """A tip reward's history: proposed, approved or refused, paid; by whom, when, why."""

    STATUS = RewardStatus

    reward = models.ForeignKey(TipReward, on_delete=models.CASCADE, related_name="history")

    def __str__(self):
        return f"{self.reward_id}: {self.from_status} → {self.to_status}"


REWARD_LIFECYCLE = Lifecycle(
    model=TipReward,
    allowed=REWARD_ALLOWED,
    event_model=RewardEvent,
    event_fk="reward",
    refused=_("奖励当前状态为“%(status)s”，不能进行此操作。"),
    stale=_("奖励状态已变化，请刷新后重试。"),
)

"""Public decisions by vote (票选, DOMAIN.md capability 3): Huzhou's ten public-benefit actions
(惠民实事, "choose up to 10 of 30") and Jiaxing's station PK (最满意派出所大PK, "the most
satisfying of 11 stations").

- A `Campaign` has its `Option`s (proposals or stations), opening and closing times, and a
  lifecycle (draft → open → closed → published) whose every move is recorded.
- One verified person, one `Ballot`: the voter proves a mobile with the portal's one-time code;
  the ballot keeps only a keyed hash of it (`voter_key`, MINYI_VOTE_KEY, not SECRET_KEY), unique
  per campaign in the database, and its choices as a selection vector ("0100…", one character
  per option), with database checks on their number.
- Paper ballots (票选表) are `PaperSheet`s keyed in twice (`PaperEntry`); matching entries cast
  one ballot under the same voter-key rule; mismatches wait in a queue.
- Every ballot and every rejection (`Rejection`) is appended to a hash chain (`ChainEntry`)
  whose head is published daily (`ChainHead`); `manage.py votes_verify` proves the record.
- Stuffing is flagged (`StuffingFlag`) for a person's review, never deleted automatically.
- The chosen actions are followed up in public (`ActionPlan`, `Milestone`, `ActionUpdate`),
  and citizens may follow one by SMS (`ActionFollower`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Length, Replace
from django.db.models.lookups import Exact, GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField

# One character per option in a ballot's selection vector: at most this many options.
MAX_OPTIONS = 60


class CampaignKind(models.TextChoices):
    APPROVAL = "approval", _("多选（最多选 N 项）")
    SINGLE = "single", _("单选")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("投票中")
    CLOSED = "closed", _("已截止")
    PUBLISHED = "published", _("结果已公布")


CAMPAIGN_ALLOWED = {
    CampaignStatus.DRAFT: {CampaignStatus.OPEN},
    CampaignStatus.OPEN: {CampaignStatus.CLOSED},
    CampaignStatus.CLOSED: {CampaignStatus.PUBLISHED},
}


class Campaign(BaseModel):
    # The organiser's unit: staff see campaigns in their subtree only.
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="+"
    )
    # The public link's code (/c/votes/<code>/), short enough for an SMS or a poster.
    code = models.SlugField(_("链接代码"), max_length=20, unique=True)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    kind = models.CharField(_("投票方式"), max_length=10, choices=CampaignKind.choices)
    max_choices = models.PositiveSmallIntegerField(_("最多可选"), default=1)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    # While voting the public page shows turnout only, unless the organiser chose otherwise.
    show_shares = models.BooleanField(_("投票期间公开得票"), default=False)
    # Also one ballot per ID number (身份证号), besides one per mobile.
    require_id_number = models.BooleanField(_("需要身份证号"), default=False)
    status = models.CharField(
        _("状态"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投票活动")
        verbose_name_plural = _("投票活动")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="votes_campaign_window"
            ),
            models.CheckConstraint(
                condition=Q(max_choices__gte=1, max_choices__lte=MAX_OPTIONS)
                & (Q(kind="approval") | Q(kind="single", max_choices=1)),
                name="votes_campaign_max_choices",
            ),
        ]

    def __str__(self):
        return self.title

    def is_open_at(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == CampaignStatus.OPEN and self.opens_at <= now < self.closes_at


class CampaignEvent(LifecycleEvent):
    STATUS = CampaignStatus

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="history")

    class Meta(LifecycleEvent.Meta):
        verbose_name = _("投票活动记录")
        verbose_name_plural = _("投票活动记录")

    def __str__(self):
        return f"{self.campaign_id}: {self.from_status} → {self.to_status}"


CAMPAIGN_LIFECYCLE = Lifecycle(
    model=Campaign,
    allowed=CAMPAIGN_ALLOWED,
    event_model=CampaignEvent,
    event_fk="campaign",
    refused=_("投票活动当前状态为“%(status)s”，不能进行此操作。"),
    stale=_("投票活动状态已变化，请刷新后重试。"),
)


class Option(models.Model):
    """A candidate: a proposed action (惠民实事候选项目) or a station (参评派出所)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="options")
    # 1, 2, …: the option's place on the ballot and in the selection vector. Fixed once the
    # campaign opens.
    number = models.PositiveSmallIntegerField(_("编号"))
    title = models.CharField(_("名称"), max_length=100)
    text = models.TextField(_("介绍"), blank=True)
    # A station in a station PK; for an action, the unit proposed to carry it out.
    unit = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The citizen's suggestion the proposal came from, with its tracking number.
    opinion = models.ForeignKey(
        "opinions.Opinion",
        verbose_name=_("来源群众建议"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("候选项")
        verbose_name_plural = _("候选项")
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="votes_option_number"),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=MAX_OPTIONS), name="votes_option_range"
            ),
        ]

    def __str__(self):
        return f"{self.number}. {self.title}"


def option_photo_path(instance, filename):
    now = timezone.now()
    suffix = filename[filename.rfind(".") :] if "." in filename else ""
    return f"vote-photos/{now:%Y/%m}/{instance.option_id}-{now:%H%M%S%f}{suffix}"


class OptionPhoto(models.Model):
    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=option_photo_path)
    content_type = models.CharField(max_length=30)

    def __str__(self):
        return self.file.name


class Channel(models.TextChoices):
    ONLINE = "online", _("网上投票")
    PAPER = "paper", _("纸质票选表")


def _selected(field: str):
    """How many '1's a selection vector holds: its length less its length without them."""
    return Length(field) - Length(Replace(field, Value("1"), Value("")))


def _binary(field: str) -> Q:
    """Only 0s and 1s, at least one character (portable: no regular expression in a check)."""
    rest = Replace(Replace(field, Value("0"), Value("")), Value("1"), Value(""))
    return Q(Exact(Length(rest), 0)) & Q(GreaterThanOrEqual(Length(field), 1))


class Ballot(models.Model):
    """One counted ballot. Choices are a selection vector: character i is "1" when option
    number i+1 was chosen, so a choice cannot be repeated by construction, and the database
    checks the vector holds only 0/1 and between 1 and `max_choices` ones (the campaign's
    limit, copied when cast)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="ballots")
    # Keyed hash of the normalised mobile (MINYI_VOTE_KEY and the campaign), never the number.
    voter_key = models.CharField(max_length=64)
    # Keyed hash of the ID number, when the campaign asks for one.
    id_key = models.CharField(max_length=64, blank=True)
    # The mobile, encrypted: for the review of runs of consecutive numbers (stuffing).
    mobile = EncryptedTextField()
    choices = models.CharField(max_length=MAX_OPTIONS)
    choice_count = models.PositiveSmallIntegerField()
    max_choices = models.PositiveSmallIntegerField()
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    # For the voter to find their ballot in the published receipts.
    receipt = models.CharField(_("回执码"), max_length=16)
    # Online: keyed hashes of the network (/24 or /64) and of the device cookie, for stuffing
    # review; paper: the sheet.
    network_key = models.CharField(max_length=64, blank=True)
    device_key = models.CharField(max_length=64, blank=True)
    sheet = models.OneToOneField(
        "votes.PaperSheet", null=True, blank=True, on_delete=models.PROTECT, related_name="ballot"
    )
    cast_at = models.DateTimeField(default=timezone.now)
    # Its entry in the campaign's hash chain.
    seq = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("选票")
        verbose_name_plural = _("选票")
        ordering = ["campaign", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "voter_key"], name="votes_one_per_mobile"),
            models.UniqueConstraint(
                fields=["campaign", "id_key"],
                condition=~Q(id_key=""),
                name="votes_one_per_id_number",
            ),
            models.UniqueConstraint(fields=["campaign", "receipt"], name="votes_receipt_unique"),
            models.CheckConstraint(
                condition=_binary("choices"), name="votes_ballot_choices_binary"
            ),
            models.CheckConstraint(
                condition=Q(choice_count=_selected("choices")),
                name="votes_ballot_choice_count",
            ),
            models.CheckConstraint(
                condition=Q(choice_count__gte=1, choice_count__lte=models.F("max_choices")),
                name="votes_ballot_choice_limit",
            ),
            models.CheckConstraint(
                condition=Q(channel="paper", sheet__isnull=False)
                | Q(channel="online", sheet__isnull=True),
                name="votes_ballot_paper_has_sheet",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "cast_at"], name="votes_ballot_time_idx")]

    def __str__(self):
        return f"{self.campaign_id}/{self.receipt}"

    def chosen_numbers(self) -> list[int]:
        return [i + 1 for i, c in enumerate(self.choices) if c == "1"]


class RejectReason(models.TextChoices):
    DUPLICATE_VOTER = "duplicate_voter", _("该手机号已投过票（以先计入的有效选票为准）")
    DUPLICATE_ID = "duplicate_id", _("该身份证号已投过票")
    UNREADABLE_MOBILE = "unreadable_mobile", _("手机号无法辨认")
    UNREADABLE_ID = "unreadable_id", _("身份证号无法辨认或未填写")
    INVALID_CHOICES = "invalid_choices", _("选择无效（超过限选数量、重复或未选）")
    OUTSIDE_WINDOW = "outside_window", _("不在投票时间内")
    VOID = "void", _("作废")


class Rejection(models.Model):
    """A ballot not counted, with its reason: a paper sheet's second ballot from one mobile, an
    unreadable sheet. Online refusals answered at once (a wrong code, too many choices) are
    not ballots and are not kept here; the voter is told and may try again."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="rejections")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    reason = models.CharField(_("原因"), max_length=20, choices=RejectReason.choices)
    voter_key = models.CharField(max_length=64, blank=True)
    sheet = models.ForeignKey(
        "votes.PaperSheet", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    seq = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("无效票记录")
        verbose_name_plural = _("无效票记录")
        ordering = ["campaign", "seq"]

    def __str__(self):
        return f"{self.campaign_id}#{self.seq} {self.reason}"


class ChainEntry(models.Model):
    """One link of a campaign's hash chain: `hash` = SHA-256 of (seq, prev_hash, payload_hash),
    `payload_hash` = SHA-256 of the canonical JSON `payload` (a ballot or a rejection, as
    recorded). Appended under the campaign's row lock, so the chain is linear."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="chain")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=10)  # ballot / rejection
    payload = models.TextField()
    payload_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("存证链记录")
        verbose_name_plural = _("存证链记录")
        ordering = ["campaign", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "seq"], name="votes_chain_seq"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="votes_chain_seq_positive"),
        ]

    def __str__(self):
        return f"{self.campaign_id}#{self.seq}"


class ChainHead(models.Model):
    """The chain's head as published on a day (and when the campaign closes): anyone holding
    it can later prove that nothing before it was edited, removed or rolled back."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="heads")
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("存证链公布值")
        verbose_name_plural = _("存证链公布值")
        ordering = ["campaign", "-published_at"]

    def __str__(self):
        return f"{self.campaign_id}#{self.seq} {self.hash[:12]}"


class SheetStatus(models.TextChoices):
    PENDING = "pending", _("待第二次录入")
    MISMATCH = "mismatch", _("两次录入不一致")
    COUNTED = "counted", _("已计票")
    REJECTED = "rejected", _("无效票")


class PaperSheet(models.Model):
    """A paper ballot (票选表) with its printed serial number."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="sheets")
    serial = models.CharField(_("票号"), max_length=20)
    status = models.CharField(
        _("状态"), max_length=10, choices=SheetStatus.choices, default=SheetStatus.PENDING
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("纸质票选表")
        verbose_name_plural = _("纸质票选表")
        ordering = ["campaign", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "serial"], name="votes_sheet_serial"),
        ]

    def __str__(self):
        return self.serial


class PaperEntry(models.Model):
    """One clerk's keying of a sheet. Two clerks key every sheet; a third keying (by a
    supervisor, `resolution`) settles a mismatch."""

    sheet = models.ForeignKey(PaperSheet, on_delete=models.CASCADE, related_name="entries")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # As typed, encrypted; empty with `unreadable` when the clerk could not read it.
    mobile = EncryptedTextField(blank=True)
    mobile_hash = models.CharField(max_length=64, blank=True)
    unreadable = models.BooleanField(default=False)
    # Only when the campaign requires an ID number (身份证号): as typed (normalised),
    # encrypted, with a keyed hash for comparing two keyings; empty with `id_unreadable` when
    # the clerk could not read it or the voter left it out.
    id_number = EncryptedTextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True)
    id_unreadable = models.BooleanField(default=False)
    choices = models.CharField(max_length=MAX_OPTIONS)
    resolution = models.BooleanField(default=False)
    keyed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("票选表录入")
        verbose_name_plural = _("票选表录入")
        ordering = ["sheet", "keyed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "clerk"],
                condition=Q(resolution=False),
                name="votes_entry_one_per_clerk",
            ),
            models.CheckConstraint(
                condition=Q(unreadable=True) | _binary("choices"), name="votes_entry_choices_binary"
            ),
        ]

    def __str__(self):
        return f"{self.sheet_id} by {self.clerk_id}"


class FlagKind(models.TextChoices):
    DEVICE_BURST = "device", _("同一设备集中投票")
    NETWORK_BURST = "network", _("同一网络突发投票")
    MOBILE_RUN = "mobile_run", _("连号手机投票")
    IDENTICAL_BURST = "identical", _("相同选票集中出现")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("待复核")
    CLEARED = "cleared", _("复核正常")
    CONFIRMED = "confirmed", _("确认异常")


class StuffingFlag(BaseModel):
    """A group of ballots that look stuffed, for a person to review. Ballots are never deleted
    automatically; a confirmed flag is reported beside the results with its ballots counted
    apart."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(_("类型"), max_length=12, choices=FlagKind.choices)
    # What makes it one group (a network key and window, a run's first number masked, …):
    # one flag per group, however often detection runs.
    key = models.CharField(max_length=120)
    # The figures behind it: counts, the Poisson baseline, p-value, window, rule version.
    evidence = models.JSONField(default=dict)
    ballots = models.ManyToManyField(Ballot, related_name="flags")
    status = models.CharField(
        _("状态"), max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("复核意见"), blank=True)

    class Meta:
        verbose_name = _("刷票嫌疑")
        verbose_name_plural = _("刷票嫌疑")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind", "key"], name="votes_flag_key"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.key}"


# --- Accountability for the chosen actions (惠民实事落实) ------------------------------------


class ActionPlan(BaseModel):
    """A chosen option carried out: the responsible unit, its target and progress, shown to
    the public with a timeline of updates."""

    option = models.OneToOneField(Option, on_delete=models.PROTECT, related_name="plan")
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+"
    )
    target = models.TextField(_("目标"), blank=True)
    percent_done = models.PositiveSmallIntegerField(_("完成进度（%）"), default=0)

    class Meta:
        verbose_name = _("实事项目")
        verbose_name_plural = _("实事项目")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent_done__lte=100), name="votes_plan_percent_range"
            ),
        ]

    def __str__(self):
        return self.option.title


class Milestone(models.Model):
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("节点"), max_length=100)
    due_on = models.DateField(_("计划完成"))
    done_on = models.DateField(_("实际完成"), null=True, blank=True)

    class Meta:
        verbose_name = _("节点")
        verbose_name_plural = _("节点")
        ordering = ["plan", "due_on", "id"]

    def __str__(self):
        return self.title


class ActionUpdate(models.Model):
    """A public progress update: text, an optional figure ("helped 82,000 people"), photos."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField(_("进展"))
    figure_label = models.CharField(_("数据名称"), max_length=40, blank=True)
    figure_value = models.DecimalField(
        _("数据"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    percent_done = models.PositiveSmallIntegerField(_("完成进度（%）"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("进展更新")
        verbose_name_plural = _("进展更新")
        ordering = ["plan", "-published_at", "-id"]

    def __str__(self):
        return f"{self.plan_id} {self.published_at:%Y-%m-%d}"


def update_photo_path(instance, filename):
    now = timezone.now()
    suffix = filename[filename.rfind(".") :] if "." in filename else ""
    return f"vote-photos/updates/{now:%Y/%m}/{instance.update_id}-{now:%H%M%S%f}{suffix}"


class UpdatePhoto(models.Model):
    update = models.ForeignKey(ActionUpdate, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=update_photo_path)
    content_type = models.CharField(max_length=30)

    def __str__(self):
        return self.file.name


class ActionFollower(models.Model):
    """A citizen who asked for an SMS on each update of an action (proven mobile)."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="followers")
    mobile = EncryptedTextField()
    mobile_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("关注者")
        verbose_name_plural = _("关注者")
        constraints = [
            models.UniqueConstraint(fields=["plan", "mobile_hash"], name="votes_follow_once"),
        ]

    def __str__(self):
        return f"{self.plan_id} {self.mobile_hash[:8]}…"

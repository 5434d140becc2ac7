"""Satisfaction perception loop (capability 1, Shaoxing 智慧民意感知): business types so far;
service events, surveys, replies and callbacks build on them."""

from string import Formatter

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import Lifecycle, LifecycleEvent
from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField


class BusinessCategory(models.TextChoices):
    WINDOW = "window", _("窗口服务")
    DISPATCH = "dispatch", _("接处警")
    CRIMINAL = "criminal", _("刑事案件")
    TRAFFIC = "traffic", _("交通管理")
    ENFORCEMENT = "enforcement", _("执法办案")
    COMPLAINT = "complaint", _("投诉")


class CallbackTier(models.TextChoices):
    """Which perception centre calls back an unsatisfied citizen: the one at the handling
    station, its county/district bureau, or the city bureau."""

    STATION = "station", _("所队")
    DISTRICT = "district", _("县（市、区）局")
    CITY = "city", _("市局")


class BusinessType(BaseModel):
    """A kind of police contact (业务类型) that can be surveyed."""

    code = models.CharField(_("业务代码"), max_length=40, unique=True)
    name = models.CharField(_("业务名称"), max_length=60)
    category = models.CharField(_("业务大类"), max_length=20, choices=BusinessCategory.choices)
    # Domestic violence, sexual offences, arrests and suspects, deaths: never surveyed.
    is_sensitive = models.BooleanField(
        _("敏感业务"), default=False, help_text=_("敏感业务永不发送满意度回访。")
    )
    survey_enabled = models.BooleanField(_("开展满意度回访"), default=True)
    # Enforcement contacts rate lower by nature; compare units like with like.
    is_enforcement = models.BooleanField(_("执法类"), default=False)
    rectification_days = models.PositiveSmallIntegerField(
        _("整改期限（工作日）"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    callback_tier = models.CharField(
        _("回访中心层级"),
        max_length=10,
        choices=CallbackTier.choices,
        default=CallbackTier.DISTRICT,
    )
    survey_delay_minutes = models.PositiveIntegerField(
        _("办结后多久发送（分钟）"), default=30, validators=[MaxValueValidator(7 * 24 * 60)]
    )
    survey_template = models.TextField(
        _("回访短信模板"),
        blank=True,
        help_text=_(
            "留空使用默认模板。可用占位符：{unit} 单位，{date} 日期，{business} 业务，"
            "{link} 评价链接，{signature} 短信签名。"
        ),
    )

    class Meta:
        verbose_name = _("业务类型")
        verbose_name_plural = _("业务类型")
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(is_sensitive=True) & models.Q(survey_enabled=True)),
                name="business_type_sensitive_never_surveyed",
            )
        ]

    def __str__(self):
        return self.name

    TEMPLATE_FIELDS = frozenset({"signature", "date", "unit", "business", "link"})

    def clean(self):
        if self.survey_template:
            try:
                fields = [
                    (name, spec, conversion)
                    for _text, name, spec, conversion in Formatter().parse(self.survey_template)
                    if name is not None
                ]
            except ValueError as exc:
                raise ValidationError(
                    {"survey_template": _("模板格式有误：%(e)s") % {"e": exc}}
                ) from exc
            for name, spec, conversion in fields:
                if name not in self.TEMPLATE_FIELDS or spec or conversion:
                    raise ValidationError(
                        {
                            "survey_template": _(
                                "模板只能使用 {unit}、{date}、{business}、{link}、{signature}，"
                                "不能带格式说明：{%(name)s}"
                            )
                            % {"name": name}
                        }
                    )
            if "{link}" not in self.survey_template:
                raise ValidationError({"survey_template": _("模板必须包含评价链接 {link}。")})


class SurveyDecision(models.TextChoices):
    """What happened to an event's survey. Everything but SCHEDULED is a reason not to ask."""

    PENDING = "pending", _("待判定")
    SCHEDULED = "scheduled", _("已安排回访")
    SENSITIVE = "sensitive", _("敏感业务不回访")
    DISABLED = "disabled", _("该业务未开展回访")
    OPTED_OUT = "opted_out", _("群众已退订")
    COOL_OFF = "cool_off", _("冷静期内不重复回访")
    OPEN_SURVEY = "open_survey", _("该号码已有未完成回访")
    STALE = "stale", _("事件过久不回访")
    NO_MOBILE = "no_mobile", _("无联系号码")


class ServiceEvent(models.Model):
    """One police contact (执法服务事件) pushed by a business system."""

    source = models.CharField(_("来源系统"), max_length=40)
    external_id = models.CharField(_("外部编号"), max_length=80)
    business_type = models.ForeignKey(
        BusinessType, verbose_name=_("业务类型"), on_delete=models.PROTECT
    )
    unit = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("办理单位"),
        on_delete=models.PROTECT,
        related_name="service_events",
    )
    officers = models.ManyToManyField("orgs.Officer", verbose_name=_("经办民警"), blank=True)
    citizen_mobile = EncryptedTextField(_("群众手机"), blank=True)
    citizen_mobile_hash = models.CharField(max_length=64, blank=True, db_index=True)
    occurred_at = models.DateTimeField(_("发生时间"))
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)
    survey_decision = models.CharField(
        _("回访判定"),
        max_length=12,
        choices=SurveyDecision.choices,
        default=SurveyDecision.PENDING,
    )
    api_key = models.ForeignKey(
        "orgs.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("服务事件")
        verbose_name_plural = _("服务事件")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="event_once_per_source")
        ]
        indexes = [
            models.Index(
                fields=["id"],
                name="event_pending_idx",
                condition=models.Q(survey_decision="pending"),
            ),
            # Drill-downs list a unit's (or a period's) contacts newest first.
            models.Index(fields=["unit", "occurred_at"], name="event_unit_time_idx"),
            models.Index(fields=["occurred_at"], name="event_time_idx"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


class SurveyStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待发送")
    SENT = "sent", _("已发送")
    ANSWERED = "answered", _("已评价")
    EXPIRED = "expired", _("已过期")
    CANCELLED = "cancelled", _("已取消")


OPEN_SURVEY_STATUSES = (SurveyStatus.SCHEDULED, SurveyStatus.SENT)

# Every change of a survey's status is one of these, recorded as a SurveyEvent. An expired
# survey goes back to sent only when a person reads a late reply in the SMS inbox.
SURVEY_ALLOWED = {
    SurveyStatus.SCHEDULED: {SurveyStatus.SENT, SurveyStatus.CANCELLED},
    SurveyStatus.SENT: {SurveyStatus.ANSWERED, SurveyStatus.EXPIRED, SurveyStatus.CANCELLED},
    SurveyStatus.EXPIRED: {SurveyStatus.SENT},
    SurveyStatus.ANSWERED: set(),
    SurveyStatus.CANCELLED: set(),
}


class Rating(models.IntegerChoices):
    """National 好差评 five levels, the one place the scale is written: 1-3 count as
    satisfied (SATISFIED_RATINGS), 4 and 5 as unsatisfied (UNSATISFIED_RATINGS); every
    figure, follow-up rule and warning uses these two tuples."""

    VERY_SATISFIED = 1, _("非常满意")
    SATISFIED = 2, _("满意")
    FAIRLY_SATISFIED = 3, _("基本满意")
    UNSATISFIED = 4, _("不满意")
    VERY_UNSATISFIED = 5, _("非常不满意")


SATISFIED_RATINGS = (Rating.VERY_SATISFIED, Rating.SATISFIED, Rating.FAIRLY_SATISFIED)
UNSATISFIED_RATINGS = (Rating.UNSATISFIED, Rating.VERY_UNSATISFIED)


class Survey(models.Model):
    """The satisfaction question about one event, asked once (and reminded at most once)."""

    event = models.OneToOneField(ServiceEvent, on_delete=models.PROTECT, related_name="survey")
    mobile_hash = models.CharField(max_length=64)
    # Denormalised from the event so figures and scoping need no join.
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="+")
    # The contact's time (the event's occurred_at), copied so a unit's answers can be listed
    # and paged by it without reading the events.
    contact_at = models.DateTimeField(_("服务时间"))
    token = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.SCHEDULED
    )
    created_at = models.DateTimeField(default=timezone.now)
    send_at = models.DateTimeField(_("计划发送时间"))
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminder_due_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("评价"), null=True, blank=True, choices=Rating.choices
    )
    comment = EncryptedTextField(_("留言"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_via = models.CharField(max_length=8, blank=True)  # sms / h5
    # An upheld appeal (申诉成立) takes the rating out of the unit's and officer's figures;
    # the rating itself stays for the record.
    excluded_at = models.DateTimeField(_("申诉剔除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("满意度回访")
        verbose_name_plural = _("满意度回访")
        constraints = [
            # A citizen's SMS reply carries only their number: one open survey per mobile is
            # how a reply finds its survey.
            models.UniqueConstraint(
                fields=["mobile_hash"],
                name="survey_one_open_per_mobile",
                condition=models.Q(status__in=["scheduled", "sent"]),
            )
        ]
        indexes = [
            models.Index(
                fields=["send_at"], name="survey_due_idx", condition=models.Q(status="scheduled")
            ),
            models.Index(fields=["mobile_hash", "sent_at"], name="survey_mobile_sent_idx"),
            # The worker's expiry and reminder sweeps run every few seconds.
            models.Index(
                fields=["expires_at"],
                name="survey_open_expiry_idx",
                condition=models.Q(status="sent"),
            ),
            models.Index(
                fields=["reminder_due_at"],
                name="survey_reminder_idx",
                condition=models.Q(status="sent", reminded_at__isnull=True),
            ),
            # A unit's answers listed by contact time and paged by (contact_at, id) keysets.
            models.Index(fields=["unit", "contact_at", "id"], name="survey_unit_contact_idx"),
        ]

    def __str__(self):
        return f"回访 #{self.pk}"


class SurveyEvent(LifecycleEvent):
    """A survey's history (评价记录): sent, answered (and how), expired, cancelled (opt-out,
    sensitive business), reopened from the inbox; the sweeps write theirs in bulk."""

    STATUS = SurveyStatus

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="history")

    class Meta(LifecycleEvent.Meta):
        verbose_name = _("评价记录")
        verbose_name_plural = _("评价记录")

    def __str__(self):
        return f"{self.survey_id}: {self.from_status} → {self.to_status}"


SURVEY_LIFECYCLE = Lifecycle(
    model=Survey,
    allowed=SURVEY_ALLOWED,
    event_model=SurveyEvent,
    event_fk="survey",
    refused=_("该评价已完成或已关闭。"),
    stale=_("该评价已完成或已关闭。"),
    # A citizen's late or repeated answer meets "closed", whatever the survey's status.
    final={status: ("survey_closed", _("该评价已完成或已关闭。")) for status in SurveyStatus},
    stale_code="survey_closed",
    audited=False,
)


class SurveyReply(models.Model):
    """A reply understood (or not) and attached to a survey when one was open."""

    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    inbound = models.OneToOneField(
        "sms.InboundSms", null=True, blank=True, on_delete=models.PROTECT, related_name="reply"
    )
    channel = models.CharField(max_length=8)  # sms / h5
    text = EncryptedTextField(blank=True)
    kind = models.CharField(max_length=10)  # rating / opt_out / unparsed
    rating = models.PositiveSmallIntegerField(null=True, blank=True, choices=Rating.choices)
    comment = EncryptedTextField(blank=True)
    # Counted in the survey's rating (the first valid answer), or kept for the record only.
    counted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("回访答复")
        verbose_name_plural = _("回访答复")

    def __str__(self):
        return f"{self.channel} {self.kind} {self.rating or ''}"


class ReasonTag(models.TextChoices):
    """Why a citizen was unsatisfied (不满意原因标签)."""

    ATTITUDE = "attitude", _("态度")
    EFFICIENCY = "efficiency", _("效率")
    MULTIPLE_TRIPS = "multiple_trips", _("跑多次")
    CONDUCT = "conduct", _("执法规范")
    OUTCOME = "outcome", _("处置结果")
    RESPONSE_SPEED = "response_speed", _("出警速度")
    INTEGRITY = "integrity", _("廉洁")
    EXPLANATION = "explanation", _("告知解释")
    FACILITIES = "facilities", _("设施环境")
    OTHER = "other", _("其他")


class SatisfactionDaily(models.Model):
    """Rollup: per unit, business type and day (of the contact), kept current as surveys are
    sent and answered. Dashboards read this, never the raw rows."""

    day = models.DateField()
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    business_type = models.ForeignKey(BusinessType, on_delete=models.CASCADE, related_name="+")
    events = models.PositiveIntegerField(default=0)
    surveys_sent = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    rating_1 = models.PositiveIntegerField(default=0)
    rating_2 = models.PositiveIntegerField(default=0)
    rating_3 = models.PositiveIntegerField(default=0)
    rating_4 = models.PositiveIntegerField(default=0)
    rating_5 = models.PositiveIntegerField(default=0)
    # Ratings taken out by upheld appeals (already subtracted from replies and rating_N).
    excluded = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit", "business_type"], name="satisfaction_daily_key"
            )
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id} type {self.business_type_id}"

"""The annual assessment (年度综合考评, DOMAIN.md capability 2): public opinion from polls
(weight never below 51%) combined with business figures, per fixed peer group.

- `BusinessFigure`: one figure of one unit for one period, with numerator and denominator,
  imported (破案率, 追赃率, …) or computed by Minyi (survey satisfaction, callbacks on time, …).
- `AssessmentRule`: the year's versioned rule: its indicators with direction and weight, the
  peer groups it ranks within, the public weight (≥ 0.51, also a database constraint) and the
  accountability gate.
- `Assessment`: one run of a rule over a period's poll waves and business figures, with one
  `AssessmentResult` per unit; approved by a supervisor, then published to citizens.
- `Tenure`: who led which unit when, for the promotion review sheet (干部竞聘).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel

PUBLIC_WEIGHT_FLOOR = Decimal("0.51")


class FigureSource(models.TextChoices):
    IMPORTED = "imported", _("业务系统导入")
    COMPUTED = "computed", _("平台计算")


class BusinessCode(models.TextChoices):
    """Business figures, each a rate numerator/denominator. Imported ones come from the
    bureau's business systems; computed ones Minyi counts itself."""

    CLEARANCE = "clearance", _("破案率")
    RECOVERY = "recovery", _("追赃率")
    CASE_FILING = "case_filing", _("受立案规范率")
    # Computed by Minyi.
    SURVEY_SATISFACTION = "survey_satisfaction", _("回访满意率")
    CALLBACK_ON_TIME = "callback_on_time", _("不满意回访按时率")
    RECTIFICATION_ON_TIME = "rectification_on_time", _("整改按时办结率")
    OPINION_REPLY = "opinion_reply", _("意见建议答复率")
    TRUE_RESOLUTION = "true_resolution", _("真解决率")


COMPUTED_CODES = (
    BusinessCode.SURVEY_SATISFACTION,
    BusinessCode.CALLBACK_ON_TIME,
    BusinessCode.RECTIFICATION_ON_TIME,
    BusinessCode.OPINION_REPLY,
    BusinessCode.TRUE_RESOLUTION,
)


class BusinessFigure(BaseModel):
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("指标"), max_length=24, choices=BusinessCode.choices)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    numerator = models.PositiveIntegerField(_("分子"))
    denominator = models.PositiveIntegerField(_("分母"))
    source = models.CharField(_("来源"), max_length=10, choices=FigureSource.choices)
    source_import = models.ForeignKey(
        "core.ImportFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("业务指标")
        verbose_name_plural = _("业务指标")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "code", "period_start", "period_end"],
                name="business_figure_unique",
            ),
            models.CheckConstraint(
                condition=Q(numerator__lte=F("denominator")),
                name="business_figure_numerator_le_denominator",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="business_figure_period_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.code} {self.period_start}–{self.period_end}"


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ACTIVE = "active", _("生效")
    RETIRED = "retired", _("已停用")


class AssessmentRule(BaseModel):
    """A year's assessment rule, versioned: a change makes a new version; a version that has
    produced an assessment is never edited."""

    owner = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("所属局"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"))
    status = models.CharField(
        _("状态"), max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT
    )
    public_weight = models.DecimalField(
        _("民意权重"), max_digits=4, decimal_places=3, default=PUBLIC_WEIGHT_FLOOR
    )
    peer_groups = models.ManyToManyField(
        "orgs.PeerGroup", verbose_name=_("同类单位组"), related_name="+"
    )
    # Membership of each peer group when the rule was activated: {group_id: [unit_id, ...]}.
    peer_snapshot = models.JSONField(default=dict, blank=True)
    # The accountability gate (DOMAIN.md): marked last only when P(bottom 3) ≥ p_bottom3_gate
    # or adjusted z < -z_gate, and only with n_eff ≥ min_n_eff.
    min_n_eff = models.PositiveIntegerField(_("最小有效样本量"), default=300)
    p_bottom3_gate = models.FloatField(_("末三位概率门槛"), default=0.8)
    z_gate = models.FloatField(_("调整 z 门槛"), default=3.09)
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("考评规则")
        verbose_name_plural = _("考评规则")
        ordering = ["-year", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "year", "version"], name="rule_version"),
            # Public opinion carries at least 51% of the assessment (Huzhou, DOMAIN.md).
            models.CheckConstraint(
                condition=Q(public_weight__gte=PUBLIC_WEIGHT_FLOOR, public_weight__lte=1),
                name="rule_public_weight_at_least_51",
            ),
            models.CheckConstraint(
                condition=Q(p_bottom3_gate__gt=0.5, p_bottom3_gate__lte=1, z_gate__gte=1.96),
                name="rule_gate_not_lax",
            ),
        ]

    def __str__(self):
        return f"{self.year} v{self.version}"

    @property
    def rule_version(self) -> str:
        return f"assess-{self.year}.{self.version}"


class IndicatorSource(models.TextChoices):
    POLL = "poll", _("民意测评")
    BUSINESS = "business", _("业务指标")


class Direction(models.TextChoices):
    HIGHER = "higher", _("越高越好")
    LOWER = "lower", _("越低越好")


class RuleIndicator(models.Model):
    """One indicator of a rule. Poll indicators' weights add up to the rule's public weight,
    business indicators' to the rest (checked by the service when the rule is saved)."""

    rule = models.ForeignKey(AssessmentRule, on_delete=models.CASCADE, related_name="indicators")
    source = models.CharField(max_length=10, choices=IndicatorSource.choices)
    # A polls.Indicator value for a poll indicator, a BusinessCode value for a business one.
    code = models.CharField(_("指标"), max_length=24)
    direction = models.CharField(
        _("方向"), max_length=6, choices=Direction.choices, default=Direction.HIGHER
    )
    weight = models.DecimalField(_("权重"), max_digits=4, decimal_places=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "code"], name="rule_indicator_unique"),
            models.CheckConstraint(
                condition=Q(weight__gt=0, weight__lte=1), name="rule_indicator_weight_range"
            ),
        ]

    def __str__(self):
        return f"{self.rule_id} {self.code} {self.weight}"


class AssessmentStatus(models.TextChoices):
    COMPUTED = "computed", _("已计算，待审定")
    APPROVED = "approved", _("已审定")
    PUBLISHED = "published", _("已公布")


class Assessment(BaseModel):
    """One run of a rule over a period (e.g. 2026年上半年): the poll waves and business
    figures inside the period, ranked within each peer group."""

    rule = models.ForeignKey(AssessmentRule, on_delete=models.PROTECT, related_name="assessments")
    label = models.CharField(_("考评名称"), max_length=40)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    polls = models.ManyToManyField("polls.Poll", verbose_name=_("纳入测评"), related_name="+")
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.COMPUTED,
    )
    draws = models.PositiveIntegerField(default=10_000)
    computed_at = models.DateTimeField(null=True, blank=True)
    # Per peer group: nominal weights and the effective share of the composite's variance of
    # each indicator and of public opinion as a whole ({group_id: {...}}).
    shares = models.JSONField(default=dict, blank=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    rule_version = models.CharField(max_length=40)

    class Meta:
        verbose_name = _("综合考评")
        verbose_name_plural = _("综合考评")
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "period_start", "period_end"], name="assessment_once"
            ),
        ]

    def __str__(self):
        return self.label


class AssessmentResult(models.Model):
    """One unit in one assessment: the composite with its interval, its rank among peers with
    the rank interval, and whether the gate marked it last."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="results")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    peer_group = models.ForeignKey("orgs.PeerGroup", on_delete=models.PROTECT, related_name="+")
    ranked = models.BooleanField(default=False)  # False: too few answers to rank
    n_eff = models.FloatField(null=True)  # public opinion's effective sample (smallest indicator)
    composite = models.FloatField(null=True)
    composite_low = models.FloatField(null=True)
    composite_high = models.FloatField(null=True)
    raw_rank = models.PositiveIntegerField(null=True)
    median_rank = models.FloatField(null=True)
    rank_low = models.PositiveIntegerField(null=True)
    rank_high = models.PositiveIntegerField(null=True)
    p_last = models.FloatField(null=True)
    p_bottom3 = models.FloatField(null=True)
    z_adjusted = models.FloatField(null=True)  # funnel z of public satisfaction
    marked_last = models.BooleanField(default=False)
    # The raw "ranked last" for reference only, never the trigger.
    raw_last = models.BooleanField(default=False)
    # Per indicator: value, n, n_eff, interval, z within the peer group, weight.
    indicators = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assessment", "unit"], name="assessment_result_unique"),
        ]

    def __str__(self):
        return f"{self.assessment_id} {self.unit_id}"


class Tenure(models.Model):
    """Who led a unit when (任职经历), for the promotion review sheet."""

    officer = models.ForeignKey(
        "orgs.Officer", verbose_name=_("民警"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("职务"), max_length=30)
    started_on = models.DateField(_("任职开始"))
    ended_on = models.DateField(_("任职结束"), null=True, blank=True)

    class Meta:
        verbose_name = _("任职经历")
        verbose_name_plural = _("任职经历")
        ordering = ["officer", "started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="tenure_dates_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.officer_id} {self.unit_id} {self.started_on}"

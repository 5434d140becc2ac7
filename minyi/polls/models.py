"""Polls (民意测评, DOMAIN.md capability 2): the five indicators per unit and wave, from a
polling firm's respondent-level file or collected in Minyi by SMS and an H5 questionnaire.

A `Poll` is one wave (e.g. 2026 第2季度) across the units it covers. Each `PollRespondent` is
one person's answers, with the strata used for weighting (age band, sex, registered or
floating resident); raking to each unit's `PopulationMargin` gives the respondent's weight.
A `PollInvitation` is Minyi's own SMS invitation; its answer becomes a respondent row with no
link back to the invitation, so staff never learn who answered what.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField


class Indicator(models.TextChoices):
    """The five public indicators of a poll, each asked as a yes/no (positive/negative)."""

    SAW_POLICE = "saw_police", _("见警率")
    ATTITUDE = "attitude", _("服务态度")
    FAMILIARITY = "familiarity", _("熟悉率")
    SATISFACTION = "satisfaction", _("满意度")
    SAFETY = "safety", _("安全感")


# The respondent column holding each indicator's answer (True positive, False negative,
# None not asked or not answered).
INDICATOR_FIELDS = {i.value: i.value for i in Indicator}


class AgeBand(models.TextChoices):
    UNDER_30 = "18-29", _("18-29岁")
    FROM_30 = "30-44", _("30-44岁")
    FROM_45 = "45-59", _("45-59岁")
    FROM_60 = "60+", _("60岁及以上")


class Sex(models.TextChoices):
    MALE = "m", _("男")
    FEMALE = "f", _("女")


class Residence(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")


class Dimension(models.TextChoices):
    """The strata a poll is weighted on; each has its categories above."""

    AGE_BAND = "age_band", _("年龄段")
    SEX = "sex", _("性别")
    RESIDENCE = "residence", _("户籍")


DIMENSION_CHOICES = {
    Dimension.AGE_BAND: AgeBand,
    Dimension.SEX: Sex,
    Dimension.RESIDENCE: Residence,
}


class PollSource(models.TextChoices):
    IMPORTED = "imported", _("第三方测评导入")
    COLLECTED = "collected", _("平台短信测评")


class PollStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    COLLECTING = "collecting", _("收集中")
    CLOSED = "closed", _("已结束")


class Poll(BaseModel):
    """One wave (一轮测评) of the five indicators across the units it covers."""

    title = models.CharField(_("测评名称"), max_length=60)
    year = models.PositiveSmallIntegerField(_("年度"))
    wave = models.PositiveSmallIntegerField(_("轮次"))
    source = models.CharField(_("来源"), max_length=10, choices=PollSource.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=PollStatus.choices, default=PollStatus.DRAFT
    )
    # The bureau whose units the poll covers (its subtree); staff see a poll within their scope.
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("测评范围"), on_delete=models.PROTECT, related_name="+"
    )
    fielded_from = models.DateField(_("调查开始"))
    fielded_to = models.DateField(_("调查结束"))
    pollster = models.CharField(_("测评机构"), max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When raking weights and estimates were last computed (None: not yet).
    weighted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("民意测评")
        verbose_name_plural = _("民意测评")
        ordering = ["-year", "-wave"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "wave"], name="poll_one_per_wave"),
            models.CheckConstraint(condition=Q(wave__gte=1, wave__lte=12), name="poll_wave_1_12"),
            models.CheckConstraint(
                condition=Q(fielded_to__gte=models.F("fielded_from")), name="poll_dates_ordered"
            ),
        ]

    def __str__(self):
        return self.title


class PopulationMargin(models.Model):
    """A unit's population by one stratum (常住人口结构), the target of raking."""

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    dimension = models.CharField(_("维度"), max_length=10, choices=Dimension.choices)
    category = models.CharField(_("类别"), max_length=12)
    population = models.PositiveIntegerField(_("人数"))

    class Meta:
        verbose_name = _("人口结构")
        verbose_name_plural = _("人口结构")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "dimension", "category"], name="margin_unique"
            ),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.year} {self.dimension}={self.category}: {self.population}"


class PollRespondent(models.Model):
    """One person's answers in one wave. `respondent_ref` is the polling firm's own id (or a
    random one for answers collected in Minyi); it identifies nobody."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="respondents")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    respondent_ref = models.CharField(_("样本编号"), max_length=40)
    age_band = models.CharField(_("年龄段"), max_length=6, choices=AgeBand.choices)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    residence = models.CharField(_("户籍"), max_length=10, choices=Residence.choices)
    saw_police = models.BooleanField(_("见警率"), null=True)
    attitude = models.BooleanField(_("服务态度"), null=True)
    familiarity = models.BooleanField(_("熟悉率"), null=True)
    satisfaction = models.BooleanField(_("满意度"), null=True)
    safety = models.BooleanField(_("安全感"), null=True)
    comment = EncryptedTextField(_("意见建议"), blank=True)
    # The day answered (no time of day: an answer must not be matched to an SMS by its minute).
    answered_on = models.DateField(_("答卷日期"))
    # Raking weight, trimmed to [0.3, 3] (None until the poll is weighted).
    weight = models.FloatField(null=True, blank=True)
    source_import = models.ForeignKey(
        "core.ImportFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("测评样本")
        verbose_name_plural = _("测评样本")
        constraints = [
            models.UniqueConstraint(fields=["poll", "respondent_ref"], name="respondent_unique"),
            models.CheckConstraint(
                condition=Q(weight__isnull=True) | Q(weight__gte=0.3, weight__lte=3.0),
                name="respondent_weight_trimmed",
            ),
        ]
        indexes = [models.Index(fields=["poll", "unit"], name="respondent_poll_unit_idx")]

    def __str__(self):
        return f"{self.poll_id}/{self.respondent_ref}"


class PollEstimate(models.Model):
    """One unit × indicator × wave, as computed when the poll was last weighted: the figures the
    pages and the assessment read (DOMAIN.md "Statistics we use"). `ranked` is False for a cell
    under the minimum sample: it is shown as such and never ranked."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="estimates")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    indicator = models.CharField(max_length=12, choices=Indicator.choices)
    n = models.PositiveIntegerField()
    n_eff = models.FloatField()
    rate = models.FloatField(null=True)  # weighted
    low = models.FloatField(null=True)  # Wilson interval on n_eff
    high = models.FloatField(null=True)
    shrunk = models.FloatField(null=True)  # empirical-Bayes posterior mean
    z_adjusted = models.FloatField(null=True)  # funnel z with overdispersion
    median_rank = models.FloatField(null=True)
    rank_low = models.PositiveIntegerField(null=True)
    rank_high = models.PositiveIntegerField(null=True)
    p_last = models.FloatField(null=True)
    p_bottom3 = models.FloatField(null=True)
    ranked = models.BooleanField(default=False)
    peer_group = models.ForeignKey(
        "orgs.PeerGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_version = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "unit", "indicator"], name="estimate_unique"),
        ]

    def __str__(self):
        return f"{self.poll_id} {self.unit_id} {self.indicator}"


# --- Collection in Minyi (平台短信测评) --------------------------------------------------


class SampleSource(models.TextChoices):
    SERVICE_EVENTS = "events", _("近期办事群众")
    IMPORTED_LIST = "list", _("导入名单")


class PollQuota(models.Model):
    """How many completed questionnaires a unit needs in one stratum cell (配额); `category`
    blank means the unit's total."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="quotas")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=10, choices=Dimension.choices, blank=True)
    category = models.CharField(max_length=12, blank=True)
    target = models.PositiveIntegerField(_("目标样本量"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "unit", "dimension", "category"], name="quota_unique"
            ),
        ]

    def __str__(self):
        return f"{self.poll_id} {self.unit_id} {self.dimension}={self.category}: {self.target}"


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待发送")
    SENT = "sent", _("已发送")
    ANSWERED = "answered", _("已作答")
    EXPIRED = "expired", _("已过期")
    CANCELLED = "cancelled", _("已取消")


class PollInvitation(models.Model):
    """An SMS invitation with a single-use questionnaire link. It records that and when the
    person answered, never what: the answer is a PollRespondent with no link back."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="invitations")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    sample_source = models.CharField(max_length=6, choices=SampleSource.choices)
    mobile = EncryptedTextField()
    mobile_hash = models.CharField(max_length=64)
    token = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.SCHEDULED
    )
    created_at = models.DateTimeField(default=timezone.now)
    send_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminder_due_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One invitation per person per wave.
            models.UniqueConstraint(fields=["poll", "mobile_hash"], name="invitation_unique"),
        ]
        indexes = [
            models.Index(
                fields=["send_at"],
                name="invitation_due_idx",
                condition=Q(status="scheduled"),
            ),
        ]

    def __str__(self):
        return f"{self.poll_id}/{self.pk}"

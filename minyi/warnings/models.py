"""Three-colour early warning (三色预警) on officers and units: DOMAIN.md capability 1, item 7,
with the rules of "Statistics we use".

A `Warning` row is one spell of one colour for one subject (an officer or a unit). The nightly
computation refreshes the current row in place while the colour holds and writes a new row
only when the colour changes, closing the old one; so the table holds the history of colour
changes, not one row per night. A subject that has never left green has no row at all.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WarningColour(models.TextChoices):
    RED = "red", _("红色预警")
    ORANGE = "orange", _("橙色预警")
    GREEN = "green", _("绿色")


# Most severe first: how lists are ordered.
COLOUR_SEVERITY = {WarningColour.RED: 0, WarningColour.ORANGE: 1, WarningColour.GREEN: 2}


class WarningSubject(models.TextChoices):
    OFFICER = "officer", _("民警")
    UNIT = "unit", _("单位")


class Warning(models.Model):  # the domain's word (DOMAIN.md); shadows the builtin only here
    """One colour spell of one officer or unit, with the figures and evidence behind it."""

    subject = models.CharField(_("预警对象"), max_length=8, choices=WarningSubject.choices)
    officer = models.ForeignKey(
        "orgs.Officer",
        verbose_name=_("民警"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="warnings",
    )
    # The unit itself for a unit warning; the officer's unit for an officer warning. Every
    # read is scoped through it.
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    colour = models.CharField(_("预警等级"), max_length=8, choices=WarningColour.choices)
    # The CUSUM value S for an officer; the overdispersion-adjusted funnel z for a unit.
    statistic = models.FloatField(_("统计量"))
    # h for an officer (orange from h/2); the alarm limit (3.09) for a unit (orange from 1.96).
    threshold = models.FloatField(_("阈值"))
    rule_version = models.CharField(_("规则版本"), max_length=40)
    window_days = models.PositiveSmallIntegerField(_("统计窗口（天）"))
    # Counts, rates, the at-fault callbacks (id, date, business type, tags) and the chart
    # series. Never a citizen's mobile or free text.
    evidence = models.JSONField(_("依据"), default=dict)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    computed_at = models.DateTimeField(_("最近计算时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    is_current = models.BooleanField(_("当前"), default=True)

    class Meta:
        verbose_name = _("三色预警")
        verbose_name_plural = _("三色预警")
        constraints = [
            models.CheckConstraint(
                condition=(Q(subject="officer") & Q(officer__isnull=False))
                | (Q(subject="unit") & Q(officer__isnull=True)),
                name="warning_subject_matches_officer",
            ),
            models.UniqueConstraint(
                fields=["officer"],
                condition=Q(is_current=True, subject="officer"),
                name="warning_one_current_per_officer",
            ),
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(is_current=True, subject="unit"),
                name="warning_one_current_per_unit",
            ),
        ]
        indexes = [
            models.Index(
                fields=["colour", "subject"],
                name="warning_current_idx",
                condition=Q(is_current=True),
            ),
        ]

    def __str__(self):
        who = self.officer if self.subject == WarningSubject.OFFICER else self.unit
        return f"{who} {self.get_colour_display()}"

    @property
    def is_flagged(self) -> bool:
        return self.colour != WarningColour.GREEN

    @property
    def orange_from(self) -> float:
        """Where orange begins on this warning's statistic scale."""
        if self.subject == WarningSubject.OFFICER:
            return self.threshold / 2
        return float(self.evidence.get("z_alert", 1.96))


class WarningReply(models.Model):
    """The officer's or unit's reply (申辩) to a warning, kept with it for good."""

    warning = models.ForeignKey(Warning, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("答复人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("答复内容"), max_length=1000)
    created_at = models.DateTimeField(_("答复时间"), default=timezone.now)

    class Meta:
        verbose_name = _("预警申辩")
        verbose_name_plural = _("预警申辩")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.warning_id}: {self.author}"

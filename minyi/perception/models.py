"""Satisfaction perception loop (capability 1, Shaoxing 智慧民意感知): business types so far;
service events, surveys, replies and callbacks build on them."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel


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

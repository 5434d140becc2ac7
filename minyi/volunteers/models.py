"""Volunteers (志愿者), partner organisations (合作单位), activities (志愿活动) and sign-ups.

A volunteer's name and mobile are personal information: encrypted, the mobile with a lookup
hash, masked on screen, and cleared on request once the volunteer has withdrawn (`erased_at`);
the hours they gave stay, under no name. Every row belongs to a police station (`unit`), and
staff see those of their subtree only.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField


class PartnerKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    SECURITY = "security", _("保安公司")
    TAXI = "taxi", _("出租车")
    DELIVERY = "delivery", _("快递外卖")
    OTHER = "other", _("其他")


class PartnerOrganisation(BaseModel):
    """A partner organisation (合作单位: Boss义警 enterprises, the "4+X" partners)."""

    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("所属派出所"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("单位名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=12, choices=PartnerKind.choices)
    contact_name = EncryptedTextField(_("联系人"), blank=True)
    contact_mobile = EncryptedTextField(_("联系电话"), blank=True)
    active = models.BooleanField(_("合作中"), default=True)

    class Meta:
        verbose_name = _("合作单位")
        verbose_name_plural = _("合作单位")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="volunteers_partner_once"),
        ]

    def __str__(self):
        return self.name


class Skill(models.TextChoices):
    PATROL = "patrol", _("巡逻防控")
    MEDIATION = "mediation", _("矛盾调解")
    PUBLICITY = "publicity", _("宣传讲解")
    TRAFFIC = "traffic", _("交通劝导")
    FIRST_AID = "first_aid", _("应急救护")
    DRIVING = "driving", _("驾驶")
    LANGUAGE = "language", _("外语翻译")
    OTHER = "other", _("其他")


class Availability(models.TextChoices):
    WEEKDAY_DAY = "weekday_day", _("工作日白天")
    WEEKDAY_EVENING = "weekday_evening", _("工作日晚上")
    WEEKEND = "weekend", _("周末")
    HOLIDAY = "holiday", _("节假日")


class VolunteerStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    WITHDRAWN = "withdrawn", _("已退出")


class VolunteerSource(models.TextChoices):
    STAFF = "staff", _("民警登记")
    SELF = "self", _("本人报名")


class Volunteer(BaseModel):
    """A volunteer of a station (志愿者). Registered only with the person's consent, whose
    moment and text version are kept (`consent_at`, `consent_version`)."""

    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("所属派出所"), on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        "community.GridArea",
        verbose_name=_("所在社区"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation = models.ForeignKey(
        PartnerOrganisation,
        verbose_name=_("所属合作单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="volunteers",
    )
    name = EncryptedTextField(_("姓名"), blank=True)
    mobile = EncryptedTextField(_("手机号码"), blank=True)
    mobile_hash = models.CharField(max_length=64, blank=True, db_index=True)
    skills = models.JSONField(_("特长"), default=list, blank=True)
    availability = models.JSONField(_("可参与时间"), default=list, blank=True)
    availability_note = models.CharField(_("时间说明"), max_length=200, blank=True)
    # 同意在表彰榜上公开姓名: otherwise the public list shows the surname only (张**).
    public_name = models.BooleanField(_("同意公开姓名"), default=False)
    consent_at = models.DateTimeField(_("同意时间"))
    consent_version = models.CharField(_("告知书版本"), max_length=20)
    source = models.CharField(
        _("来源"), max_length=8, choices=VolunteerSource.choices, default=VolunteerSource.STAFF
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=VolunteerStatus.choices, default=VolunteerStatus.ACTIVE
    )
    withdrawn_at = models.DateTimeField(_("退出时间"), null=True, blank=True)
    erased_at = models.DateTimeField(_("信息删除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "mobile_hash"],
                condition=~Q(mobile_hash=""),
                name="volunteers_volunteer_mobile_once",
            ),
            models.CheckConstraint(
                condition=~Q(consent_version=""), name="volunteers_volunteer_consent"
            ),
        ]
        indexes = [models.Index(fields=["unit", "status"], name="volunteer_unit_status_idx")]

    def __str__(self):
        return f"{_('志愿者')} {self.pk}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def skill_labels(self) -> list[str]:
        labels = dict(Skill.choices)
        return [str(labels.get(s, s)) for s in self.skills]

    def availability_labels(self) -> list[str]:
        labels = dict(Availability.choices)
        return [str(labels.get(a, a)) for a in self.availability]


class ActivityKind(models.TextChoices):
    PATROL = "patrol", _("巡逻")
    PUBLICITY = "publicity", _("宣传")
    TRAFFIC = "traffic", _("交通劝导")
    EVENT_SECURITY = "event_security", _("活动安保")
    OTHER = "other", _("其他")


class ActivityStatus(models.TextChoices):
    OPEN = "open", _("报名中")
    DONE = "done", _("已结束")
    CANCELLED = "cancelled", _("已取消")


# An activity ends (已结束) or is cancelled (已取消); nothing comes back.
ACTIVITY_ALLOWED = {
    ActivityStatus.OPEN: {ActivityStatus.DONE, ActivityStatus.CANCELLED},
    ActivityStatus.DONE: set(),
    ActivityStatus.CANCELLED: set(),
}


class Activity(BaseModel):
    """A volunteer activity posted by a station (志愿活动): a patrol (巡逻) of an area of the
    grid, publicity, traffic persuasion, security at an event."""

    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("发布单位"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("活动名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=16, choices=ActivityKind.choices)
    area = models.ForeignKey(
        "community.GridArea",
        verbose_name=_("网格（巡逻区域）"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    place = models.CharField(_("集合地点"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity = models.PositiveSmallIntegerField(_("招募人数"))
    description = models.TextField(_("活动说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=ActivityStatus.choices, default=ActivityStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("志愿活动")
        verbose_name_plural = _("志愿活动")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="volunteers_activity_span"
            ),
        ]
        indexes = [models.Index(fields=["unit", "starts_at"], name="activity_unit_start_idx")]

    def __str__(self):
        return self.title

    @property
    def patrol_unit_code(self) -> str:
        """The patrol unit (巡逻单元) its check-ins are written under."""
        return f"志愿者巡逻-{self.pk}"

    @property
    def duration_hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class Signup(models.Model):
    """A volunteer signed up for an activity (报名); attendance (到场) and hours (服务时长)
    recorded by staff afterwards."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="signups")
    source = models.CharField(
        _("来源"), max_length=8, choices=VolunteerSource.choices, default=VolunteerSource.STAFF
    )
    attended = models.BooleanField(_("到场"), default=False)
    hours = models.DecimalField(_("服务时长（小时）"), max_digits=4, decimal_places=1, default=0)
    recorded_at = models.DateTimeField(_("记录时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "volunteer"], name="volunteers_signup_once"
            ),
            models.CheckConstraint(
                condition=Q(attended=True) | Q(hours=0), name="volunteers_signup_hours_attended"
            ),
        ]

    def __str__(self):
        return f"{self.activity_id} {self.volunteer_id}"

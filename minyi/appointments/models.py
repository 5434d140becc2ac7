"""Mobile service appointments (移动办证, DOMAIN.md "service to the public", issue 17 item 4):
a station publishes visit slots (时段); a citizen who cannot easily come to the window (the
elderly, disabled people, enterprises) books a home or on-site visit for ID card or household
services; staff confirm it, plan the day's route and record the outcome. A visit that is done
becomes a service event (ServiceEvent), so the satisfaction survey follows it."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import LifecycleEvent
from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField


class ServiceSlot(BaseModel):
    """A period of one day in which a station's mobile team can make `capacity` visits.
    `booked` counts the appointments holding a place (requested or confirmed); it only
    changes by a conditional UPDATE, which is the lock that keeps the last place to one
    citizen."""

    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("派出所"), on_delete=models.PROTECT, related_name="+"
    )
    date = models.DateField(_("日期"))
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    capacity = models.PositiveSmallIntegerField(_("可预约数"))
    booked = models.PositiveSmallIntegerField(_("已预约数"), default=0)
    note = models.CharField(_("说明"), max_length=100, blank=True)
    is_open = models.BooleanField(_("开放预约"), default=True)

    class Meta:
        verbose_name = _("办证时段")
        verbose_name_plural = _("办证时段")
        ordering = ["date", "start_time", "unit_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "date", "start_time"], name="slot_once_per_unit_start"
            ),
            models.CheckConstraint(
                condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"
            ),
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="slot_ends_after"
            ),
        ]
        indexes = [models.Index(fields=["unit", "date"], name="slot_unit_date_idx")]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.period}"

    @property
    def period(self) -> str:
        return f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.booked, 0)

    def starts_at(self):
        return timezone.make_aware(datetime.combine(self.date, self.start_time))


class Applicant(models.TextChoices):
    """Who asks for the visit (服务对象)."""

    ELDERLY = "elderly", _("老年人")
    DISABLED = "disabled", _("残疾人")
    ENTERPRISE = "enterprise", _("企业")
    OTHER = "other", _("其他")


class ServiceKind(models.TextChoices):
    ID_CARD = "id_card", _("身份证")
    HOUSEHOLD = "household", _("户籍")
    RESIDENCE_PERMIT = "residence_permit", _("居住证")
    OTHER = "other", _("其他")


class VisitPlace(models.TextChoices):
    HOME = "home", _("上门（家中）")
    ONSITE = "onsite", _("现场（单位、社区）")


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DONE = "done", _("已办结")
    CANCELLED = "cancelled", _("已取消")
    NO_SHOW = "no_show", _("未办成")


# A place in the slot is held while the appointment is one of these.
HOLDING = (AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED)

APPOINTMENT_ALLOWED = {
    AppointmentStatus.REQUESTED: {AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED},
    AppointmentStatus.CONFIRMED: {
        AppointmentStatus.DONE,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    },
    AppointmentStatus.DONE: set(),
    AppointmentStatus.NO_SHOW: set(),
    AppointmentStatus.CANCELLED: set(),
}


class Appointment(BaseModel):
    """One citizen's request for a visit in one slot."""

    number = models.CharField(_("预约编号"), max_length=20, unique=True)
    slot = models.ForeignKey(
        ServiceSlot, verbose_name=_("时段"), on_delete=models.PROTECT, related_name="appointments"
    )
    # Denormalised from the slot: scoping and the day's list need no join.
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("派出所"), on_delete=models.PROTECT, related_name="+"
    )
    citizen_name = EncryptedTextField(_("姓名"))
    citizen_mobile = EncryptedTextField(_("手机号码"))
    citizen_mobile_hash = models.CharField(max_length=64, db_index=True)
    address = EncryptedTextField(_("地址"))
    applicant = models.CharField(_("服务对象"), max_length=12, choices=Applicant.choices)
    service = models.CharField(_("办理事项"), max_length=20, choices=ServiceKind.choices)
    place = models.CharField(_("办理地点"), max_length=8, choices=VisitPlace.choices)
    note = EncryptedTextField(_("补充说明"), blank=True)
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.REQUESTED,
    )
    route_order = models.PositiveSmallIntegerField(_("路线顺序"), null=True, blank=True)
    outcome = EncryptedTextField(_("办理结果"), blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    service_event = models.OneToOneField(
        "perception.ServiceEvent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("上门办证预约")
        verbose_name_plural = _("上门办证预约")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "status"], name="appointment_unit_status_idx"),
            models.Index(
                fields=["slot"],
                name="appointment_remind_idx",
                condition=models.Q(status="confirmed", reminded_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING


class AppointmentEvent(LifecycleEvent):
    STATUS = AppointmentStatus

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")

    class Meta(LifecycleEvent.Meta):
        verbose_name = _("预约记录")
        verbose_name_plural = _("预约记录")

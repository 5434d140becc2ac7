"""Service reminders by SMS (办事提醒, issue 17 item 3): due dates pushed by business systems
(vehicle inspection, licence renewal, ID card expiry, unpaid violations) and the reminders
sent for them at each kind's lead times, through the outbox.

A due item (到期事项) keeps the citizen's mobile encrypted (with a lookup hash) and a label of
the item already masked (浙D·***12, 尾号1234): the reminder names nothing more than that."""

import string

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minyi.core.models import BaseModel
from minyi.core.pii import EncryptedTextField

# What a template may say: {item} and {due} are required, so every reminder names its item.
PLACEHOLDERS = {
    "item": _("事项（已脱敏）"),
    "due": _("到期日期"),
    "days": _("剩余天数"),
    "kind": _("提醒类型"),
    "signature": _("短信签名"),
    "unit": _("办理单位"),
    "optout": _("退订链接"),
}
REQUIRED_PLACEHOLDERS = ("item", "due")
MAX_LEAD_DAYS = 180
MAX_TEMPLATE_LENGTH = 300


class ReminderKind(models.TextChoices):
    VEHICLE_INSPECTION = "vehicle_inspection", _("机动车年检")
    LICENCE_RENEWAL = "licence_renewal", _("驾驶证换证")
    ID_EXPIRY = "id_expiry", _("身份证到期")
    UNPAID_VIOLATION = "unpaid_violation", _("交通违法未处理")


class SendStatus(models.TextChoices):
    SENT = "sent", _("已发送")
    SKIPPED = "skipped", _("未发送")


class SkipReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("已退订办事提醒")
    SMS_OPTED_OUT = "sms_opted_out", _("已退订全部短信（TD）")
    RATE_LIMITED = "rate_limited", _("超过每号码提醒频次")


def lead_days_parse(text: str) -> list[int]:
    """ "30,7" → [30, 7] (largest first, no repeats), or ValidationError."""
    parts = [p.strip() for p in str(text or "").replace("，", ",").split(",") if p.strip()]
    if not parts:
        raise ValidationError(_("请填写提前天数，如 30,7。"), code="lead_days_required")
    days = set()
    for part in parts:
        if not part.isdigit() or not 0 <= int(part) <= MAX_LEAD_DAYS:
            raise ValidationError(
                _("提前天数“%(part)s”无效：应为 0 到 %(max)d 之间的整数，用逗号分隔。")
                % {"part": part[:10], "max": MAX_LEAD_DAYS},
                code="invalid_lead_days",
            )
        days.add(int(part))
    return sorted(days, reverse=True)


def _braced(name: str) -> str:
    return "{" + name + "}"


def template_text_check(text: str) -> None:
    """Only known placeholders, {item} and {due} present, braces balanced."""
    try:
        names = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        raise ValidationError(
            _("模板中的花括号不成对：占位符应写成 {item} 这样。"), code="invalid_template"
        ) from None
    unknown = sorted(names - PLACEHOLDERS.keys())
    if unknown:
        raise ValidationError(
            _("模板中有未知的占位符：%(names)s。可用：%(known)s。")
            % {
                "names": "、".join(_braced(n) for n in unknown),
                "known": "、".join(_braced(n) for n in PLACEHOLDERS),
            },
            code="unknown_placeholder",
        )
    missing = [n for n in REQUIRED_PLACEHOLDERS if n not in names]
    if missing:
        raise ValidationError(
            _("模板必须包含占位符：%(names)s。")
            % {"names": "、".join(_braced(n) for n in missing)},
            code="missing_placeholder",
        )


class ReminderTemplate(BaseModel):
    """The text and lead times (提前天数) of one kind of reminder; city-wide."""

    kind = models.CharField(_("提醒类型"), max_length=20, choices=ReminderKind.choices, unique=True)
    text = models.TextField(_("短信模板"), max_length=MAX_TEMPLATE_LENGTH)
    lead_days = models.CharField(
        _("提前天数"), max_length=40, default="30,7", help_text=_("逗号分隔，如 30,7")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("提醒模板")
        verbose_name_plural = _("提醒模板")
        ordering = ["kind"]

    def __str__(self):
        return self.get_kind_display()

    def clean(self):
        errors = {}
        try:
            template_text_check(self.text)
        except ValidationError as exc:
            errors["text"] = exc
        try:
            self.lead_days = ",".join(str(d) for d in lead_days_parse(self.lead_days))
        except ValidationError as exc:
            errors["lead_days"] = exc
        if errors:
            raise ValidationError(errors)

    @property
    def leads(self) -> list[int]:
        return lead_days_parse(self.lead_days)


class DueItem(models.Model):
    """A due date of one citizen's item, from a business system; idempotent on (source,
    external_id)."""

    source = models.CharField(_("来源系统"), max_length=20)
    external_id = models.CharField(_("事项编号"), max_length=64)
    kind = models.CharField(_("提醒类型"), max_length=20, choices=ReminderKind.choices)
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    mobile = EncryptedTextField(_("手机号码"))
    mobile_hash = models.CharField(max_length=64, db_index=True)
    # Masked when stored (浙D·***12, 尾号1234): never a full plate or ID number.
    item_label = models.CharField(_("事项"), max_length=40)
    due_date = models.DateField(_("到期日期"))
    created_at = models.DateTimeField(_("导入时间"), default=timezone.now)
    cancelled = models.BooleanField(_("已撤销"), default=False)
    import_file = models.ForeignKey(
        "core.ImportFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("到期事项")
        verbose_name_plural = _("到期事项")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="reminders_item_once_per_source"
            ),
        ]
        indexes = [models.Index(fields=["kind", "due_date"], name="reminders_item_kind_due")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.item_label}"


class ReminderSend(models.Model):
    """The decision about one lead time of one due item: sent (with its outbox message, for
    delivery status) or skipped with the reason. Unique per (item, lead): never twice."""

    item = models.ForeignKey(DueItem, on_delete=models.CASCADE, related_name="sends")
    lead_days = models.PositiveSmallIntegerField(_("提前天数"))
    status = models.CharField(_("结果"), max_length=10, choices=SendStatus.choices)
    reason = models.CharField(_("原因"), max_length=20, choices=SkipReason.choices, blank=True)
    message = models.ForeignKey(
        "sms.OutboundSms", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The item's, copied: the per-mobile rate limit counts without a join.
    mobile_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    # When the message may go out (the morning, for a decision taken at night): the rate
    # limit counts reminders by the day they reach the citizen.
    planned_at = models.DateTimeField(_("计划发送时间"), default=timezone.now)

    class Meta:
        verbose_name = _("提醒发送")
        verbose_name_plural = _("提醒发送")
        constraints = [
            models.UniqueConstraint(fields=["item", "lead_days"], name="reminders_send_once"),
        ]
        indexes = [models.Index(fields=["mobile_hash", "planned_at"], name="reminders_send_mobile")]

    def __str__(self):
        return f"{self.item_id}@{self.lead_days} {self.status}"


class ReminderOptOut(models.Model):
    """A mobile that asked for no service reminders: of one kind, or of all (kind blank).
    Keyed by hash only."""

    mobile_hash = models.CharField(max_length=64)
    kind = models.CharField(_("提醒类型"), max_length=20, choices=ReminderKind.choices, blank=True)
    source = models.CharField(max_length=20)  # h5 / staff / demo
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("办事提醒退订")
        verbose_name_plural = _("办事提醒退订")
        constraints = [
            models.UniqueConstraint(fields=["mobile_hash", "kind"], name="reminders_optout_once"),
        ]

    def __str__(self):
        return f"opt-out {self.kind or 'all'} {self.mobile_hash[:8]}…"

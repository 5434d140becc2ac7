"""Core: the base model, the append-only audit log and working-day calendar overrides."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class Escalation(models.Model):
    """Where an overdue row went up to (超期升级) and when: work orders and opinions alike."""

    escalated_to = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("超期升级至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKED_OUT = "locked_out", _("账号锁定")
    LOGOUT = "logout", _("退出")
    SECOND_FACTOR = "second_factor", _("二次验证")
    PERMISSION_DENIED = "permission_denied", _("越权访问被拒")
    PII_REVEAL = "pii_reveal", _("查看个人信息")
    EXPORT = "export", _("导出")
    CREATE = "create", _("新增")
    CHANGE = "change", _("修改")
    DELETE = "delete", _("删除")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    DENIED = "denied", _("拒绝")
    FAILURE = "failure", _("失败")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEvent(models.Model):
    """Who did what to which object, when, from where, and how it ended. Never changed."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text as well: failed logins have no user, and names are what auditors read.
    actor_username = models.CharField(_("用户名"), max_length=150, blank=True)
    # The actor's unit at the time, so the log can be scoped to a subtree like everything else.
    actor_unit = models.ForeignKey(
        "orgs.OrgUnit",
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=32, choices=AuditAction.choices)
    outcome = models.CharField(
        _("结果"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=300, blank=True)
    path = models.CharField(_("请求路径"), max_length=300, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class CalendarOverride(models.Model):
    """One day whose status differs from what the holiday library says, or a day of a year
    the library does not know yet (the State Council publishes each year's schedule late in
    the previous year; an administrator enters it here)."""

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(
        _("说明"), max_length=50, blank=True, help_text=_("如：春节、国庆节调休上班")
    )

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["day"]

    def __str__(self):
        return f"{self.day} {'上班' if self.is_workday else '休息'} {self.name}"


class CalendarYear(models.Model):
    """An administrator's statement that a year's whole schedule (holidays and make-up
    workdays) is entered as CalendarOverride rows; until then deadlines in a year the library
    does not know stay provisional."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    complete = models.BooleanField(_("放假安排已全部录入"), default=False)

    class Meta:
        verbose_name = _("年度放假安排")
        verbose_name_plural = _("年度放假安排")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("待确认")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已导入")
    REFUSED = "refused", _("有错误，未导入")


def import_path(instance, filename):
    return f"imports/{instance.kind}/{timezone.now():%Y/%m}/{instance.sha256[:16]}-{filename}"


class ImportFile(BaseModel):
    """A file staff uploaded for import (a poll's respondents, business figures, …), kept for
    audit whatever became of it: who, when, what, the rows refused and why."""

    kind = models.CharField(_("导入类型"), max_length=30)
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("范围"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(_("文件名"), max_length=200)
    file = models.FileField(upload_to=import_path)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # What the import is for (e.g. {"poll": 7}); the kind's importer reads it.
    target = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    stage = models.CharField(max_length=10, blank=True)  # check / store
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("导入文件")
        verbose_name_plural = _("导入文件")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename

"""Processing records (个人信息处理记录) of the purge, and how far each holding was purged."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProcessingRecord(models.Model):
    """One deletion or pseudonymisation run over one holding: kept three years."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    category = models.CharField(_("数据类别"), max_length=20)
    holding = models.CharField(_("数据位置"), max_length=80)  # "text:perception.Survey"
    action = models.CharField(_("处理方式"), max_length=20)  # blank / redact / delete_file / delete
    period_days = models.PositiveIntegerField(_("保存期限（天）"))
    cutoff = models.DateTimeField(_("截止时间"))  # rows dated before this were processed
    rows_affected = models.PositiveIntegerField(_("处理行数"))
    # A staff account, if one ran it; none for the worker and the command (`job` says which).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        "+",
        null=True,
        blank=True,
        verbose_name=_("操作人"),
    )
    job = models.CharField(_("任务"), max_length=80)  # "worker:privacy_purge", "manage.py …"

    class Meta:
        verbose_name = _("个人信息处理记录")
        verbose_name_plural = _("个人信息处理记录")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d} {self.holding} {self.action} {self.rows_affected}"


class PurgeState(models.Model):
    """How far a holding has been purged: rows dated before `cutoff` are done (the dashboards'
    FillState pattern), so a daily run reads only the day's new expiries."""

    holding = models.CharField(max_length=80, unique=True)
    cutoff = models.DateTimeField()

    def __str__(self):
        return f"{self.holding} < {self.cutoff:%Y-%m-%d}"

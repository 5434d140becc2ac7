"""The verified mobile (手机验证): one-time SMS codes (短信验证码), the per-mobile lock after
wrong codes, and the per-address throttle that keeps both from being abused.

The transport for DOMAIN.md's citizen-facing capabilities: opinions (4) and case progress (5)
prove a mobile with a code today, and votes (3) will. The tables keep the names they had in
the citizen portal app (`portal_*`), where these models were first written.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OtpPurpose(models.TextChoices):
    """A code proves the mobile for one purpose only: a code asked for to submit an opinion
    does not open a case."""

    OPINION_SUBMIT = "opinion_submit", _("提交留言")
    OPINION_LOOKUP = "opinion_lookup", _("查询留言")
    CASE_LOOKUP = "case_lookup", _("查询案件进度")
    # Subject: the campaign's code, so a code asked for one campaign votes in no other.
    VOTE = "vote", _("投票")
    ACTION_FOLLOW = "action_follow", _("关注实事进展")
    # Subject: the community's grid code.
    NOTICE_SUBSCRIBE = "notice_subscribe", _("订阅安全提醒")
    REMINDER_OPT_OUT = "reminder_opt_out", _("办事提醒退订")
    APPOINTMENT = "appointment", _("预约上门办证")
    VOLUNTEER_JOIN = "volunteer_join", _("志愿者报名")


class OtpChallenge(models.Model):
    """One SMS code (短信验证码): 6 digits, valid 10 minutes, used once, bound to its purpose
    and mobile. Only a keyed hash of the code is kept."""

    mobile_hash = models.CharField(max_length=64)
    purpose = models.CharField(_("用途"), max_length=20, choices=OtpPurpose.choices)
    # For case lookups: which party the code was sent for; the code opens only that party's case.
    subject = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "portal_otpchallenge"
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        indexes = [
            models.Index(fields=["mobile_hash", "created_at"], name="otp_mobile_idx"),
            models.Index(fields=["ip", "created_at"], name="otp_ip_idx"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class OtpLock(models.Model):
    """Wrong codes per mobile. Five wrong in a row lock the mobile; each lock lasts twice as
    long as the one before (15 min, 30 min, 1 h … up to a day), and the count of locks is
    forgotten a day after the last one ends."""

    mobile_hash = models.CharField(max_length=64, unique=True)
    failures = models.PositiveSmallIntegerField(default=0)
    locks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "portal_otplock"
        verbose_name = _("验证码锁定")
        verbose_name_plural = _("验证码锁定")

    def __str__(self):
        return f"{self.mobile_hash[:8]}… ×{self.locks}"


class ThrottleHit(models.Model):
    """One counted request from an address (or other key) for a limited action: code
    requests, case lookups. Counted in windows; old rows are purged by the worker."""

    scope = models.CharField(max_length=30)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "portal_throttlehit"
        indexes = [models.Index(fields=["scope", "key", "at"], name="throttle_idx")]

    def __str__(self):
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"

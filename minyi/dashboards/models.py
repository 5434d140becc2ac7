"""Rollups the dashboards read (capability 1, steps 6 and 8 of DOMAIN.md; STYLE.md rule 7).

Each is derived from rows other apps own and is rebuilt or extended by the services in
`rollups.py`; `FillState` records how far each has got, so a figure can add the part not yet
rolled up from the live tables and stay exact.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FillState(models.Model):
    """How far one rollup has processed its source (Zulip analytics' FillState).

    `last_day`: the satisfaction rollups hold every day up to and including it.
    `last_time` + `last_id`: the callback rollups hold every callback completed up to that
    (completed_at, id); the 跑多次 fill has processed every service event up to `last_id`.
    """

    name = models.CharField(max_length=40, unique=True)
    last_day = models.DateField(null=True, blank=True)
    last_time = models.DateTimeField(null=True, blank=True)
    last_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.name


class UnitSatisfactionDaily(models.Model):
    """perception.SatisfactionDaily summed over business types: per day (of the contact) and
    unit. What the trend reads; net of appeal-excluded ratings like its source."""

    day = models.DateField()
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    surveys_sent = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="dash_unit_daily_key")]

    def __str__(self):
        return f"{self.day} unit {self.unit_id}"


class SatisfactionWeekly(models.Model):
    """perception.SatisfactionDaily summed over whole ISO weeks (Monday first): per week,
    unit and business type. Ranking and comparison by type read whole weeks here and only
    the days at the edges of a period from the daily table."""

    week = models.DateField()  # the Monday
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    business_type = models.ForeignKey(
        "perception.BusinessType", on_delete=models.CASCADE, related_name="+"
    )
    surveys_sent = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "week", "business_type"], name="dash_weekly_key"
            )
        ]

    def __str__(self):
        return f"week {self.week} unit {self.unit_id} type {self.business_type_id}"


class CallbackDaily(models.Model):
    """Completed callbacks per day they were due and unit: how many, and how many were
    completed by their due time. A completed callback never changes, so this only grows (by
    completion time, see FillState). CallbackWeekly holds the same per ISO week."""

    day = models.DateField()  # local date of due_at
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    done = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="dash_callback_daily_key")
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id}"


class CallbackWeekly(models.Model):
    week = models.DateField()  # the Monday of the week of due_at
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    done = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "week"], name="dash_callback_weekly_key")
        ]

    def __str__(self):
        return f"week {self.week} unit {self.unit_id}"


class ReasonDaily(models.Model):
    """Reason tags of completed first callbacks, per day of completion and unit. The row
    with `tag=""` counts the callbacks that recorded any tag (the base of the shares).
    ReasonWeekly holds the same per ISO week."""

    day = models.DateField()  # local date of completed_at
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tag = models.CharField(max_length=20, blank=True)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "day", "tag"], name="dash_reason_daily_key")
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id} {self.tag or '*'}"


class ReasonWeekly(models.Model):
    week = models.DateField()  # the Monday of the week of completed_at
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tag = models.CharField(max_length=20, blank=True)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "week", "tag"], name="dash_reason_weekly_key")
        ]

    def __str__(self):
        return f"week {self.week} unit {self.unit_id} {self.tag or '*'}"


class OfficerSatisfactionDaily(models.Model):
    """Answers about each officer on the contacts of one unit, per day of the contact: what
    the officer table reads (net of appeal-excluded ratings as of the last full rebuild).
    Filled by survey id once a survey can no longer change (see rollups.py)."""

    day = models.DateField()
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Per business type too, so the officer table filtered by a type reads this as well.
    business_type = models.ForeignKey(
        "perception.BusinessType", on_delete=models.CASCADE, related_name="+"
    )
    officer = models.ForeignKey("orgs.Officer", on_delete=models.CASCADE, related_name="+")
    replies = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "day", "business_type", "officer"],
                name="dash_officer_daily_type_key",
            )
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id} officer {self.officer_id}"


class WorkOrderDaily(models.Model):
    """Work orders that can no longer change (closed or cancelled: neither status has a way
    out), per day of dispatch, unit and business type: what the work-order figure reads. The
    orders still open, and those closed since the last pass (see FillState), are read live,
    so the figure is exact whatever the lag. `late` counts feedback after the deadline."""

    day = models.DateField()  # local date of dispatched_at
    # Indexed by the unique key, which leads with the unit.
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    business_type = models.ForeignKey(
        "perception.BusinessType", on_delete=models.CASCADE, related_name="+"
    )
    dispatched = models.PositiveIntegerField(default=0)  # not cancelled
    cancelled = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "day", "business_type"], name="dash_workorder_daily_key"
            )
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id} type {self.business_type_id}"


class RepeatPeriodCount(models.Model):
    """跑多次 counted for the periods the dashboard offers (the last 30, 90 and 365 days and
    the recent calendar months): distinct (business type, mobile) pairs and repeat contacts
    per unit, of its subtree (`subtree`) or its own contacts only, per business type and for
    all (`business_type` empty). Distinct pairs do not add up over days, so the counts are
    made per period, from RepeatContact, when it or the date has changed (see rollups.py);
    other periods are counted live."""

    start = models.DateField()
    end = models.DateField()
    # Indexed by (start, end, unit).
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    subtree = models.BooleanField()
    business_type = models.ForeignKey(
        "perception.BusinessType", null=True, on_delete=models.CASCADE, related_name="+"
    )
    pairs = models.PositiveIntegerField(default=0)
    repeats = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["start", "end", "unit"], name="dash_repeat_period_idx")]

    def __str__(self):
        return f"{self.start}–{self.end} unit {self.unit_id}"


class RepeatContact(models.Model):
    """跑多次: a service event that followed an earlier one of the same citizen (mobile hash)
    and the same business type within the repeat window. Belongs to the unit of the later
    contact. `pair` identifies the (business type, mobile) pair the figures count: the first
    8 bytes of SHA-256 of "<business type id>:<mobile hash>" as a signed 64-bit integer with
    the sign bit cleared (`repeat_pair` in rollups.py), counted distinct far faster than the
    text itself."""

    event = models.OneToOneField(
        "perception.ServiceEvent", on_delete=models.CASCADE, related_name="+"
    )
    previous_event = models.ForeignKey(
        "perception.ServiceEvent", on_delete=models.CASCADE, related_name="+"
    )
    pair = models.BigIntegerField()
    mobile_masked = models.CharField(max_length=16, blank=True)
    business_type = models.ForeignKey(
        "perception.BusinessType", on_delete=models.CASCADE, related_name="+"
    )
    # Indexed by (unit, occurred_at).
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    occurred_at = models.DateTimeField()
    previous_occurred_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["unit", "occurred_at"], name="dash_repeat_unit_time_idx"),
            models.Index(fields=["occurred_at"], name="dash_repeat_occurred_idx"),
        ]

    def __str__(self):
        return f"repeat {self.event_id} after {self.previous_event_id}"


class RepeatAction(models.TextChoices):
    CALLBACK = "callback", _("跑多次回访")
    WORK_ORDER = "work_order", _("流转整改")


class RepeatRule(models.Model):
    """跑多次 into rectification (流转整改): when a citizen has made `min_trips` trips for the
    same business (`business_type`, or any) within `window_days`, the latest of them at a
    unit of `unit`'s subtree, a referral opens a callback (跑多次回访, the perception centre
    asks why) or a work order to the unit of the latest trip. Set by REPEAT_RULE_MANAGE for
    the user's own unit (the city bureau's rules cover the whole city)."""

    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("适用单位"), on_delete=models.PROTECT, related_name="+"
    )
    business_type = models.ForeignKey(
        "perception.BusinessType",
        verbose_name=_("业务类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    min_trips = models.PositiveSmallIntegerField(_("办理次数达到"))
    window_days = models.PositiveSmallIntegerField(_("统计天数"))
    action = models.CharField(_("处置方式"), max_length=12, choices=RepeatAction.choices)
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("跑多次规则")
        verbose_name_plural = _("跑多次规则")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_trips__gte=2),
                name="repeat_rule_trips",
                violation_error_message=_("办理次数至少为 2 次。"),
            ),
            models.CheckConstraint(
                condition=models.Q(window_days__gte=1),
                name="repeat_rule_days",
                violation_error_message=_("统计天数至少为 1 天。"),
            ),
        ]

    def __str__(self):
        return f"跑多次规则 #{self.pk}"


class NoRoute(models.TextChoices):
    """Why a referral reached nobody by phone."""

    NO_SURVEY = "no_survey", _("几次办理均无回访记录，无联系途径")
    OPTED_OUT = "opted_out", _("群众已退订，不予联系")


class RepeatReferral(models.Model):
    """One rule's finding about one citizen's trips (a pair: business type + mobile) within
    one window, made once: the unique key holds however often or concurrently the sweep
    runs. A pair is referred again by the same rule only for trips after `latest_at`."""

    rule = models.ForeignKey(RepeatRule, on_delete=models.PROTECT, related_name="referrals")
    rule_version = models.PositiveIntegerField()
    action = models.CharField(max_length=12, choices=RepeatAction.choices)
    pair = models.BigIntegerField()
    window_start = models.DateTimeField()  # the first trip counted
    latest_at = models.DateTimeField()  # the latest trip
    latest_event = models.ForeignKey(
        "perception.ServiceEvent", on_delete=models.CASCADE, related_name="+"
    )
    # Indexed by (unit, created_at).
    unit = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    business_type = models.ForeignKey(
        "perception.BusinessType", on_delete=models.PROTECT, related_name="+"
    )
    mobile_masked = models.CharField(max_length=16, blank=True)
    trips = models.PositiveSmallIntegerField()
    callback = models.ForeignKey(
        "callbacks.Callback",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repeat_referrals",
    )
    work_order = models.ForeignKey(
        "workorders.WorkOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="repeat_referrals",
    )
    no_route = models.CharField(max_length=12, choices=NoRoute.choices, blank=True)
    unit_notified = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("跑多次流转")
        verbose_name_plural = _("跑多次流转")
        indexes = [
            models.Index(fields=["unit", "created_at"], name="dash_referral_unit_idx"),
        ]
        # The unique key also serves the sweep's look-up of a pair's earlier referrals.
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "pair", "window_start"], name="dash_referral_once"
            )
        ]

    def __str__(self):
        return f"跑多次流转 #{self.pk}"

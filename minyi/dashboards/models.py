"""Rollups the dashboards read (capability 1, steps 6 and 8 of DOMAIN.md; STYLE.md rule 7).

Each is derived from rows other apps own and is rebuilt or extended by the services in
`rollups.py`; `FillState` records how far each has got, so a figure can add the part not yet
rolled up from the live tables and stay exact.
"""

from django.db import models


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
    officer = models.ForeignKey("orgs.Officer", on_delete=models.CASCADE, related_name="+")
    replies = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "day", "officer"], name="dash_officer_daily_key"
            )
        ]

    def __str__(self):
        return f"{self.day} unit {self.unit_id} officer {self.officer_id}"


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

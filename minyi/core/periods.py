"""The period a figure shows (the dashboards, 诉求原因分析, the monthly report): the last
30/90/365 days, a calendar month, or (for drill-down links from a trend point) an explicit range
of days; and how a period splits into the whole weeks the weekly rollups hold and the days at
its edges."""

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

ROLLING = (30, 90, 365)
DEFAULT = "30"
MAX_DAYS = 366
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date  # inclusive
    # Why the period shown is not the one asked for (capped or not understood), for the page.
    notice: str = field(default="", compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_before(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def by_week(self) -> bool:
        return self.days > 62

    @property
    def label(self) -> str:
        if self.key.isdigit():
            return _("近 %(n)s 天") % {"n": self.key}
        if _MONTH.match(self.key):
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def period_parse(value: str | None, *, today: date | None = None) -> Period:
    """A Period from a request parameter. A period longer than MAX_DAYS is capped to its
    last MAX_DAYS days, and anything unknown falls back to the last 30 days, each with a
    notice saying so: a stale or hand-edited link shows something sensible, and a request
    for ten years never makes every figure read ten years of rows."""
    today = today or timezone.localdate()
    value = (value or "").strip()
    days = value.isascii() and value.isdigit()  # "²" is a digit to str.isdigit, not to int()
    if days and int(value) in ROLLING:
        n = int(value)
        return Period(value, today - timedelta(days=n - 1), today)
    if days and int(value) > MAX_DAYS:
        return replace(period_parse(str(ROLLING[-1]), today=today), notice=_too_long())
    if m := _MONTH.match(value):
        year, month = int(m[1]), int(m[2])
        if year >= 2000 and 1 <= month <= 12:
            start = date(year, month, 1)
            if start <= today:
                end = date(year, month, calendar.monthrange(year, month)[1])
                return Period(value, start, min(end, today))
    if m := _RANGE.match(value):
        try:
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            start = end = None
        if start and end and date(2000, 1, 1) <= start <= end <= today:
            if (end - start).days < MAX_DAYS:
                return Period(value, start, end)
            start = end - timedelta(days=MAX_DAYS - 1)
            return Period(range_key(start, end), start, end, notice=_too_long())
    default = period_parse(DEFAULT, today=today)
    if value:
        return replace(default, notice=_("无法识别的统计时段，已显示近 30 天。"))
    return default


def _too_long() -> str:
    return _("统计时段最长 %(n)d 天，已按最近 %(n)d 天以内显示。") % {"n": MAX_DAYS}


def range_key(start: date, end: date) -> str:
    return f"{start:%Y-%m-%d}_{end:%Y-%m-%d}"


def month_choices(*, today: date | None = None, count: int = 12) -> list[str]:
    today = today or timezone.localdate()
    year, month = today.year, today.month
    keys = []
    for _i in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _days(period: Period):
    return (period.start + timedelta(days=i) for i in range(period.days))


def _whole_weeks(start: date, end: date) -> tuple[date, date] | None:
    """Mondays of the first and last whole (Monday–Sunday) weeks within [start, end]."""
    first = monday(start)
    if first < start:
        first += timedelta(days=7)
    last = monday(end + timedelta(days=1)) - timedelta(days=7)
    return (first, last) if first <= last else None


def _edge_days(period: Period, weeks: tuple[date, date] | None) -> Q | None:
    """The days of the period outside its whole weeks (None when there are none). Listed
    one by one (at most twelve when the weeks are filled): `day IN (…)` is one probe of the
    index per day, where two ORed ranges made the planner scan the whole table."""
    if weeks is None:
        return Q(day__gte=period.start, day__lte=period.end)
    first, last = weeks
    days = [d for d in _days(period) if d < first or d > last + timedelta(days=6)]
    return Q(day__in=days) if days else None

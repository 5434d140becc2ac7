"""Working days (工作日) for deadlines: weekends, Chinese public holidays and make-up workdays
(调休上班) from `chinese-calendar`, overridden or extended by `CalendarOverride` rows.

When an administrator marks a year complete (CalendarYear), its holidays and make-up
workdays are the override rows and every other day follows the week. For a year neither source
knows, weekends and the fixed-date statutory holidays are used and the result is marked
provisional, so deadlines keep working while an administrator is reminded to enter the
year's schedule.
"""

from datetime import date, timedelta

import chinese_calendar

from minyi.core.models import CalendarOverride, CalendarYear

# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2024 revision); the lunar ones
# (春节, 清明, 端午, 中秋) and the make-up days come only from the library or overrides.
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


class WorkCalendar:
    """Answers "is this a working day" for a range of dates with one query for overrides."""

    def __init__(self, start: date, end: date):
        self.overrides = dict(
            CalendarOverride.objects.filter(day__gte=start, day__lte=end).values_list(
                "day", "is_workday"
            )
        )
        self.entered_years = set(
            CalendarYear.objects.filter(
                year__gte=start.year, year__lte=end.year, complete=True
            ).values_list("year", flat=True)
        )
        self.provisional = False

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year in self.entered_years:
                return day.weekday() < 5
            self.provisional = True
            return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def add_working_days(start: date, days: int) -> tuple[date, bool]:
    """The date `days` working days after `start` (not counting `start` itself), and whether
    the answer rests on the provisional fallback."""
    if days < 0:
        raise ValueError("days must not be negative")
    # Long holidays are at most 8-9 days, so 3x + 14 calendar days is always enough.
    calendar = WorkCalendar(start, start + timedelta(days=days * 3 + 14))
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    return day, calendar.provisional


def is_working_day(day: date) -> bool:
    return WorkCalendar(day, day).is_workday(day)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    calendar = WorkCalendar(start, end)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_workday(day)
    return count

"""Rectification deadlines in working days across the 2026 and 2027 Spring Festival and
National Day holidays (issue 4), through `workorder_dispatch(now=...)`.

2026 comes from chinese-calendar: Spring Festival 15–23 Feb off, Sat 14 and Sat 28 Feb
make-up workdays; National Day 1–7 Oct off, Sat 10 Oct a make-up workday. 2027 is not in the
library: without rows from an administrator the deadline rests on weekends and the fixed-date
holidays (1–3 Oct) and is provisional; with CalendarOverride rows it honours them.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from minyi.core.models import CalendarOverride, CalendarYear
from minyi.notifications.models import Notification, NotificationKind
from minyi.workorders.services import workorders_escalate_overdue, workorders_remind_due
from minyi.workorders.tests.factories import at_fault_order, open_centres

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def _dispatched_on(world, moment: datetime):
    return at_fault_order(world, now=moment)


# --- 2026: the library's schedule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dispatched", "deadline"),
    [
        # Wed before the holiday: 8 Oct, 9 Oct, Sat 10 Oct (make-up), 12 Oct, 13 Oct
        (date(2026, 9, 30), date(2026, 10, 13)),
        # Dispatched during the holiday: counting starts on the first working day after it
        (date(2026, 10, 3), date(2026, 10, 13)),
        # On the make-up Saturday itself: 12, 13, 14, 15, 16 Oct
        (date(2026, 10, 10), date(2026, 10, 16)),
        # Before Mid-Autumn (25–27 Sep) and National Day: 24 Sep, 28, 29, 30 Sep, 8 Oct
        (date(2026, 9, 23), date(2026, 10, 8)),
    ],
)
def test_national_day_2026(world, dispatched, deadline):
    order = _dispatched_on(world, _at(dispatched))
    assert order.deadline == deadline
    assert order.deadline_provisional is False


@pytest.mark.parametrize(
    ("dispatched", "deadline"),
    [
        # Thu 12 Feb: Fri 13, Sat 14 (make-up), then 24, 25, 26 Feb after the holiday
        (date(2026, 2, 12), date(2026, 2, 26)),
        # Fri 13 Feb: Sat 14, 24, 25, 26, 27 Feb
        (date(2026, 2, 13), date(2026, 2, 27)),
        # During the holiday: 24, 25, 26, 27, Sat 28 Feb (make-up)
        (date(2026, 2, 18), date(2026, 2, 28)),
    ],
)
def test_spring_festival_2026(world, dispatched, deadline):
    order = _dispatched_on(world, _at(dispatched))
    assert order.deadline == deadline
    assert order.deadline_provisional is False


def test_a_make_up_saturday_can_be_the_deadline(world, btypes):
    btypes["jcj_110"].rectification_days = 3
    btypes["jcj_110"].save()
    order = _dispatched_on(world, _at(date(2026, 9, 30)))
    assert order.deadline == date(2026, 10, 10)


def test_the_local_date_of_dispatch_counts_not_utc(world):
    # 00:30 on Sat 14 Feb in Shanghai is still Friday 13 Feb in UTC
    order = _dispatched_on(world, _at(date(2026, 2, 14), 0, 30))
    assert order.deadline == date(2026, 2, 28)


def test_the_notification_names_the_deadline(world):
    order = _dispatched_on(world, _at(date(2026, 9, 30)))
    arrived = Notification.objects.get(kind=NotificationKind.ORDER_ARRIVED)
    assert "10月13日" in arrived.text and order.number in arrived.text


def test_reminder_and_escalation_count_working_days_across_the_holiday(world):
    # Given an order due Tue 13 Oct 2026
    order = _dispatched_on(world, _at(date(2026, 9, 30)))

    # Fri 9 Oct: Sat 10, Mon 12 and Tue 13 are still ahead, no reminder yet
    assert workorders_remind_due(now=_at(date(2026, 10, 9))) == 0
    # Mon 12 Oct: one working day left
    assert workorders_remind_due(now=_at(date(2026, 10, 12))) == 1

    # Not overdue on the deadline day, overdue the day after
    assert workorders_escalate_overdue(now=_at(date(2026, 10, 13), 21)) == 0
    assert workorders_escalate_overdue(now=_at(date(2026, 10, 14))) == 1
    order.refresh_from_db()
    assert order.escalated_to == world.district_a


# --- 2027: not in the library ---------------------------------------------------------------


def test_national_day_2027_without_a_schedule_uses_the_fixed_holidays_provisionally(world):
    # Thu 30 Sep 2027: Fri 1 Oct is a fixed-date holiday, then the weekend; 4–8 Oct
    order = _dispatched_on(world, _at(date(2027, 9, 30)))
    assert order.deadline == date(2027, 10, 8)
    assert order.deadline_provisional is True


def test_spring_festival_2027_without_a_schedule_is_weekends_only_and_provisional(world):
    # The lunar holiday is unknown without a schedule: Thu 4 Feb → 5, 8, 9, 10, 11 Feb
    order = _dispatched_on(world, _at(date(2027, 2, 4)))
    assert order.deadline == date(2027, 2, 11)
    assert order.deadline_provisional is True


def _enter_2027_schedule():
    """TEST DATA, not the official 2027 schedule: what an administrator enters once the State
    Council publishes it. Chinese New Year 2027 is Sat 6 Feb."""
    label = "测试数据（非官方）"
    rows = [
        *(
            CalendarOverride(day=date(2027, 2, d), is_workday=False, name=f"{label}春节")
            for d in range(5, 13)
        ),
        CalendarOverride(day=date(2027, 2, 14), is_workday=True, name=f"{label}春节调休上班"),
        *(
            CalendarOverride(day=date(2027, 10, d), is_workday=False, name=f"{label}国庆节")
            for d in range(1, 8)
        ),
        CalendarOverride(day=date(2027, 10, 9), is_workday=True, name=f"{label}国庆节调休上班"),
    ]
    CalendarOverride.objects.bulk_create(rows)


@pytest.mark.parametrize(
    ("dispatched", "deadline"),
    [
        # Thu 4 Feb: 5–12 Feb off, Sat 13 weekend, Sun 14 (make-up), 15, 16, 17, 18 Feb
        (date(2027, 2, 4), date(2027, 2, 18)),
        # Thu 30 Sep: 1–7 Oct off, Fri 8, Sat 9 (make-up), 11, 12, 13 Oct
        (date(2027, 9, 30), date(2027, 10, 13)),
        # During the holiday: Fri 8, Sat 9, 11, 12, 13 Oct
        (date(2027, 10, 5), date(2027, 10, 13)),
    ],
)
def test_2027_with_the_administrators_schedule_honours_it(world, dispatched, deadline):
    _enter_2027_schedule()
    order = _dispatched_on(world, _at(dispatched))
    assert order.deadline == deadline


def test_2027_with_the_administrators_schedule_is_not_provisional(world):
    _enter_2027_schedule()
    # Until the administrator says the year is complete, deadlines in it stay provisional
    assert _dispatched_on(world, _at(date(2027, 9, 30))).deadline_provisional is True
    CalendarYear.objects.create(year=2027, complete=True)
    order = _dispatched_on(world, _at(date(2027, 9, 30)))
    assert order.deadline == date(2027, 10, 13)
    assert order.deadline_provisional is False


def test_an_override_corrects_the_library(world):
    # An administrator marks Fri 9 Oct 2026 a day off (e.g. a local typhoon closure)
    CalendarOverride.objects.create(day=date(2026, 10, 9), is_workday=False, name="测试数据")
    order = _dispatched_on(world, _at(date(2026, 9, 30)))
    assert order.deadline == date(2026, 10, 14)
    assert order.deadline_provisional is False


def test_deadline_a_year_ahead_of_the_library_is_marked(world):
    # Late December 2026: counting runs into January 2027, which the library does not know
    order = _dispatched_on(world, _at(date(2026, 12, 29)))
    # 30, 31 Dec; 1 Jan a fixed-date holiday, then the weekend; 4, 5, 6 Jan
    assert order.deadline == date(2027, 1, 6)
    assert order.deadline_provisional is True

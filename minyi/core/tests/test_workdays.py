from datetime import date

import pytest

from minyi.core.models import CalendarOverride, CalendarYear
from minyi.core.workdays import add_working_days, is_working_day, working_days_between


@pytest.mark.django_db
def test_national_day_2026_is_skipped():
    # 2026 National Day: 1–7 Oct off; Sat 10 Oct is a make-up workday (chinese-calendar).
    due, provisional = add_working_days(date(2026, 9, 30), 1)
    assert due == date(2026, 10, 8)
    assert not provisional


@pytest.mark.django_db
def test_make_up_saturday_counts_as_a_workday():
    assert is_working_day(date(2026, 10, 10))
    assert not is_working_day(date(2026, 10, 3))


@pytest.mark.django_db
def test_spring_festival_2026_five_working_days():
    # 2026 Spring Festival: 15–23 Feb off; Sat 14 Feb and Sat 28 Feb are make-up workdays.
    due, _ = add_working_days(date(2026, 2, 13), 5)
    assert due == date(2026, 2, 27)


@pytest.mark.django_db
def test_year_the_library_does_not_know_uses_overrides_then_fallback():
    # Given the 2027 schedule is not in the library, an administrator enters one holiday
    CalendarOverride.objects.create(day=date(2027, 2, 8), is_workday=False, name="春节")
    # When a deadline crosses it
    due, provisional = add_working_days(date(2027, 2, 5), 1)  # Friday
    # Then the weekend and the override are skipped, and the answer says it is provisional
    assert due == date(2027, 2, 9)
    assert provisional


@pytest.mark.django_db
def test_a_year_marked_complete_is_no_longer_provisional():
    # Given the administrator entered 2027's Spring Festival days and marked the year complete
    CalendarOverride.objects.create(day=date(2027, 2, 8), is_workday=False, name="春节")
    CalendarYear.objects.create(year=2027, complete=True)
    # When a deadline crosses them
    due, provisional = add_working_days(date(2027, 2, 5), 1)
    # Then the entered days decide and the answer is firm
    assert (due, provisional) == (date(2027, 2, 9), False)
    # And 1 October 2027 is what the administrator said (not entered here: a working Friday)
    assert is_working_day(date(2027, 10, 1))


@pytest.mark.django_db
def test_fixed_statutory_holidays_in_an_unknown_year():
    assert not is_working_day(date(2027, 10, 1))
    assert is_working_day(date(2027, 10, 4))  # a Monday


@pytest.mark.django_db
def test_working_days_between():
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0

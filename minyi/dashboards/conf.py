"""The dashboards' tunable numbers. Each can be overridden in settings (DASHBOARD_*); read at
call time so tests can override them."""

from datetime import timedelta

from django.conf import settings


def min_rank_sample() -> int:
    """Answered surveys a unit needs before it is ranked (below it: 样本不足，不排名)."""
    return getattr(settings, "DASHBOARD_MIN_RANK_SAMPLE", 30)


def small_cell() -> int:
    """Breakdowns below unit level (per officer, per type, per period, per reason) with fewer
    people than this are shown as "<5", never as the number."""
    return getattr(settings, "DASHBOARD_SMALL_CELL", 5)


def probably_last() -> float:
    """P(last) from which a unit is marked as probably last among its peers. High, because
    "last" feeds accountability (问责) and must not rest on a coin toss."""
    return getattr(settings, "DASHBOARD_PROBABLY_LAST", 0.8)


def rank_draws() -> int:
    return getattr(settings, "DASHBOARD_RANK_DRAWS", 4000)


def repeat_window() -> timedelta:
    """跑多次: two contacts of the same mobile for the same business within this many days."""
    return timedelta(days=getattr(settings, "DASHBOARD_REPEAT_DAYS", 30))


def rollup_days_back() -> int:
    """Days the periodic refresh recomputes (late replies and appeals change recent days)."""
    return getattr(settings, "DASHBOARD_ROLLUP_DAYS_BACK", 40)


def fill_lag() -> timedelta:
    """Rows younger than this are left for the next pass: a transaction that has not
    committed yet must not be skipped by the high-water mark."""
    return timedelta(seconds=getattr(settings, "DASHBOARD_FILL_LAG_SECONDS", 300))


def survey_final() -> timedelta:
    """Age after which a survey can no longer be answered (sending may wait up to a week
    for the business type's delay and the night, then it expires after 72 hours)."""
    return timedelta(days=getattr(settings, "DASHBOARD_SURVEY_FINAL_DAYS", 14))


def export_max_rows() -> int:
    return getattr(settings, "DASHBOARD_EXPORT_MAX_ROWS", 100_000)


PAGE_SIZE = 50

"""Rates with their Wilson 95% intervals, and the small-cell rule ("Statistics we use" in
DOMAIN.md: figures about fewer than 5 people are not shown below unit level).

A breakdown below unit level (per officer, business type, reason, day or week) about fewer
than `conf.small_cell()` people comes back with its numbers set to None and
`suppressed=True`, so neither a table, a chart nor an export can show it.
"""

from functools import lru_cache

from minyi.core import stats
from minyi.dashboards import conf


@lru_cache(maxsize=65536)
def _wilson(successes: int, trials: int) -> tuple[float, float] | None:
    # statsmodels looks the normal quantile up again on every call (~0.2 ms); a page shows a
    # few hundred intervals, mostly the same ones as the last time it was asked for.
    return stats.wilson_interval(successes, trials)


def rate(successes: int | None, trials: int | None) -> dict:
    """A rate with its Wilson 95% interval; rate and interval are None without trials."""
    successes, trials = successes or 0, trials or 0
    interval = _wilson(successes, trials) if trials else None
    return {
        "s": successes,
        "n": trials,
        "rate": successes / trials if trials else None,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "suppressed": False,
    }


def small(cell: dict, people: int | None = None) -> dict:
    """The cell with its numbers removed when it is about 1–4 people (a breakdown below unit
    level). `people` defaults to the cell's trials."""
    people = cell.get("n") if people is None else people
    if people and people < conf.small_cell():
        return {**{k: None for k in cell}, "suppressed": True}
    return cell


def small_count(n: int) -> int | None:
    return None if 0 < n < conf.small_cell() else n

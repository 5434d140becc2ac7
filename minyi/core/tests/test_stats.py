import math

import numpy as np
import pytest
from scipy.stats import betabinom

from minyi.core import stats
from minyi.core.stats import (
    RULE_VERSION,
    Z_ALARM,
    Z_ALERT,
    cusum_bernoulli,
    cusum_colour,
    cusum_threshold,
    funnel,
    funnel_limits,
    rank_shrunk,
    standardise,
    wilson_interval,
)


def test_rule_version_is_stated():
    assert RULE_VERSION == "stats-2026.1"


# --- Wilson --------------------------------------------------------------------------------


def test_wilson_known_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.1611, abs=1e-4)


def test_wilson_narrows_with_confidence_and_is_none_without_trials():
    low95, high95 = wilson_interval(45, 50)
    low80, high80 = wilson_interval(45, 50, alpha=0.2)
    assert low95 < low80 < 0.9 < high80 < high95
    assert wilson_interval(0, 0) is None


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


# --- Funnel --------------------------------------------------------------------------------


def _overdispersed_group(seed: int = 7, units: int = 60):
    # True rates differ well beyond chance: sd of about 0.06 around 0.8.
    rng = np.random.default_rng(seed)
    trials = rng.integers(200, 2000, units)
    successes = rng.binomial(trials, rng.beta(32, 8, units))
    return successes.tolist(), trials.tolist()


def test_funnel_flags_a_clearly_low_unit_among_similar_ones():
    # Given 30 stations with 400 replies each and 89–91% satisfied, and one at 75%
    successes = [356, 360, 364] * 10 + [300]
    trials = [400] * 31
    # When they are compared
    result = funnel(successes, trials)
    # Then only the low one is flagged, as an alarm below the target
    low = result.points[-1]
    assert low.flag == "alarm"
    assert low.z_adjusted < -Z_ALARM
    assert all(p.flag == "" for p in result.points[:-1])
    assert result.target == pytest.approx(sum(successes) / sum(trials))
    assert result.tau2 == 0.0


def test_funnel_overdispersion_widens_the_funnel():
    successes, trials = _overdispersed_group()
    result = funnel(successes, trials)

    assert result.phi > 1
    assert result.tau2 > 0
    raw_alarms = sum(abs(p.z) > Z_ALARM for p in result.points)
    adjusted_alarms = sum(p.flag == "alarm" for p in result.points)
    assert adjusted_alarms < raw_alarms
    assert all(abs(p.z_adjusted) < abs(p.z) for p in result.points if p.z != 0)


def test_funnel_tau2_follows_the_funnelplotr_formula():
    successes, trials = _overdispersed_group()
    result = funnel(successes, trials)

    p = np.array(successes) / np.array(trials)
    se = 1 / (2 * np.sqrt(trials))
    z = (np.arcsin(np.sqrt(p)) - math.asin(math.sqrt(result.target))) / se
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    w = 1 / se**2
    k = len(z)
    tau2 = (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum())
    assert result.phi == pytest.approx(phi)
    assert result.tau2 == pytest.approx(tau2)
    assert [q.z for q in result.points] == pytest.approx(z.tolist())


def test_funnel_flags_agree_with_the_drawn_limits():
    successes, trials = _overdispersed_group(seed=11)
    result = funnel([*successes, 100, 950], [*trials, 1000, 1000])
    flags = [p.flag for p in result.points]
    assert "alarm" in flags and "alert" in flags and "" in flags
    for point in result.points:
        alarm_low, alarm_high = funnel_limits(point.trials, result.target, result.tau2, Z_ALARM)
        alert_low, alert_high = funnel_limits(point.trials, result.target, result.tau2, Z_ALERT)
        outside_alarm = not alarm_low <= point.rate <= alarm_high
        outside_alert = not alert_low <= point.rate <= alert_high
        assert (point.flag == "alarm") == outside_alarm
        assert (point.flag in ("alarm", "alert")) == outside_alert


def test_funnel_unit_without_trials_is_left_out():
    successes, trials = [356, 360, 364, 300, 380], [400] * 5
    with_empty = funnel([*successes[:2], 0, *successes[2:]], [*trials[:2], 0, *trials[2:]])
    without = funnel(successes, trials)

    empty = with_empty.points[2]
    assert (empty.index, empty.rate, empty.z, empty.z_adjusted, empty.flag) == (
        2,
        None,
        None,
        None,
        "",
    )
    assert with_empty.tau2 == pytest.approx(without.tau2)
    others = [p.z_adjusted for p in with_empty.points if p.trials]
    assert others == pytest.approx([p.z_adjusted for p in without.points])


def test_funnel_with_fewer_than_three_units_has_no_overdispersion():
    result = funnel([100, 900], [1000, 1000])
    assert result.tau2 == 0.0
    assert [p.flag for p in result.points] == ["alarm", "alarm"]
    assert funnel([], []).points == []


def test_funnel_against_a_given_target():
    result = funnel([90, 80, 85], [100, 100, 100], target=0.95)
    assert result.target == 0.95
    assert all(p.z < 0 for p in result.points)


def test_funnel_limits_narrow_as_trials_grow_and_stay_within_rates():
    widths = []
    for n in (10, 100, 1000, 10000):
        low, high = funnel_limits(n, 0.9, 0.0, Z_ALARM)
        assert 0.0 <= low < 0.9 < high <= 1.0
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    # Overdispersion keeps the funnel from closing: it never gets narrower than τ allows.
    low, high = funnel_limits(10**9, 0.5, 0.01, Z_ALERT)
    assert high - low > 0.3
    assert funnel_limits(5, 0.0, 0.0, Z_ALARM)[0] == 0.0
    assert funnel_limits(5, 1.0, 0.0, Z_ALARM)[1] == 1.0


# --- Ranking -------------------------------------------------------------------------------


def _peer_group():
    # 20 stations near 90% satisfied, then a tiny one at 3/3 and a big one at 950/1000.
    rng = np.random.default_rng(3)
    trials = rng.integers(200, 400, 20)
    successes = rng.binomial(trials, 0.9)
    return [*successes.tolist(), 3, 950], [*trials.tolist(), 3, 1000]


def test_rank_shrinks_a_tiny_perfect_unit_behind_a_large_good_one():
    successes, trials = _peer_group()
    results = rank_shrunk(successes, trials)
    tiny, large = results[-2], results[-1]

    assert tiny.raw_rank == 1 and tiny.raw_rate == 1.0
    assert large.median_rank < tiny.median_rank
    assert large.median_rank == 1
    assert tiny.posterior_mean < large.posterior_mean
    assert 0.85 < tiny.posterior_mean < 0.95


def test_small_samples_get_wider_rank_intervals():
    successes, trials = _peer_group()
    results = rank_shrunk(successes, trials)
    tiny, large = results[-2], results[-1]
    assert tiny.rank_high - tiny.rank_low > large.rank_high - large.rank_low


def test_rank_summaries_are_consistent():
    successes, trials = _peer_group()
    results = rank_shrunk(successes, trials)
    k = len(results)
    for r in results:
        assert 1 <= r.rank_low <= r.median_rank <= r.rank_high <= k
        assert 0 <= r.p_last <= r.p_bottom3 <= 1
    # Every draw has exactly one last unit and three in the bottom three.
    assert sum(r.p_last for r in results) == pytest.approx(1.0)
    assert sum(r.p_bottom3 for r in results) == pytest.approx(3.0)
    assert [r.index for r in results] == list(range(k))


def test_rank_is_deterministic_for_a_seed():
    successes, trials = _peer_group()
    assert rank_shrunk(successes, trials, seed=5) == rank_shrunk(successes, trials, seed=5)


def test_lower_is_better_reverses_the_ranking():
    # Complaint rates: fewer is better.
    successes, trials = [2, 10, 30, 12], [1000, 1000, 1000, 1000]
    best_first = rank_shrunk(successes, trials, higher_is_better=False)
    assert best_first[0].median_rank == 1 and best_first[0].raw_rank == 1
    assert best_first[2].p_last > 0.9
    assert rank_shrunk(successes, trials)[2].median_rank == 1


def test_rank_unit_without_trials_and_tiny_groups():
    results = rank_shrunk([5, 0], [10, 0])
    assert results[1].raw_rate is None and results[1].raw_rank is None
    # Fewer than three units: the Jeffreys prior Beta(1/2, 1/2).
    assert results[0].posterior_mean == pytest.approx(5.5 / 11)
    assert results[1].posterior_mean == pytest.approx(0.5)
    assert rank_shrunk([], []) == []


def test_rank_ties_are_averaged_in_the_raw_rank():
    results = rank_shrunk([9, 9, 5], [10, 10, 10])
    assert [r.raw_rank for r in results] == [1.5, 1.5, 3.0]


def test_prior_fit_matches_scipy_and_recovers_the_truth():
    # Given 300 units drawn from Beta(45, 5), i.e. mean 0.9, strength 50
    rng = np.random.default_rng(0)
    n = rng.integers(100, 300, 300)
    s = rng.binomial(n, rng.beta(45, 5, 300))
    # The likelihood differs from scipy's betabinom only by a constant
    a1, a2 = np.log([45.0, 5.0]), np.log([20.0, 3.0])
    ours = stats._beta_binomial_nll(a1, s, n)[0] - stats._beta_binomial_nll(a2, s, n)[0]
    theirs = -(betabinom.logpmf(s, n, 45, 5).sum() - betabinom.logpmf(s, n, 20, 3).sum())
    assert ours == pytest.approx(theirs)
    # And the fit finds the prior again
    alpha, beta = stats._fit_beta_binomial_prior(s, n)
    assert alpha / (alpha + beta) == pytest.approx(0.9, abs=0.01)
    assert 25 < alpha + beta < 100


# --- CUSUM ---------------------------------------------------------------------------------


def test_cusum_path_by_hand():
    # p0 = 0.1, R = 2: an event adds ln 2, every outcome subtracts ln 1.1 = 0.09531.
    path = cusum_bernoulli([0, 1, 1, 0, 0], p0=0.1)
    assert path == pytest.approx([0.0, 0.597837, 1.195674, 1.100364, 1.005054], abs=1e-6)
    # It never goes below zero and forgets old events after enough clean outcomes.
    assert cusum_bernoulli([1] + [0] * 10, p0=0.1)[-1] == 0.0


def test_cusum_rejects_bad_input():
    with pytest.raises(ValueError):
        cusum_bernoulli([0, 2], p0=0.1)
    with pytest.raises(ValueError):
        cusum_bernoulli([0, 1], p0=0.0)
    with pytest.raises(ValueError):
        cusum_threshold(p0=0.1, n=0, units=10)


def test_threshold_rises_with_officers_and_horizon():
    by_units = [cusum_threshold(p0=0.05, n=300, units=u) for u in (10, 100, 1000)]
    by_length = [cusum_threshold(p0=0.05, n=n, units=200) for n in (50, 300, 1000)]
    assert by_units == sorted(by_units) and len(set(by_units)) == 3
    assert by_length == sorted(by_length) and len(set(by_length)) == 3


def test_threshold_never_alarms_on_one_event():
    h = cusum_threshold(p0=0.01, n=1, units=1)
    assert h >= math.log(2)
    assert cusum_colour(cusum_bernoulli([1], p0=0.01)[0], h) != "red"


def _cusum_peaks(outcomes: np.ndarray, p0: float) -> np.ndarray:
    # The same recursion as cusum_bernoulli, over many officers at once.
    level = np.zeros(outcomes.shape[0])
    peak = np.zeros(outcomes.shape[0])
    for column in outcomes.T:
        level = np.maximum(0.0, level + column * math.log(2) - math.log(1 + p0))
        peak = np.maximum(peak, level)
    return peak


def test_in_control_officers_rarely_alarm_and_a_bad_one_does():
    p0, n, officers = 0.05, 300, 200
    h = cusum_threshold(p0=p0, n=n, units=officers)
    rng = np.random.default_rng(2026)

    # Given 200 officers at the expected rate, the public path function raises no alarm
    batch = (rng.random((officers, n)) < p0).astype(int)
    alarms = sum(max(cusum_bernoulli(row.tolist(), p0=p0)) >= h for row in batch[:50])
    alarms += int(np.sum(_cusum_peaks(batch[50:], p0) >= h))
    assert alarms == 0
    assert _cusum_peaks(batch[:50], p0).tolist() == pytest.approx(
        [max(cusum_bernoulli(row.tolist(), p0=p0)) for row in batch[:50]]
    )

    # And over 50 such months, a month with any false alarm stays rarer than the stated 5%
    months = rng.random((50 * officers, n)) < p0
    alarmed = (_cusum_peaks(months, p0) >= h).reshape(50, officers).any(axis=1)
    assert alarmed.sum() <= 4

    # While an officer at four times the rate turns red
    bad = (rng.random(n) < 4 * p0).astype(int).tolist()
    path = cusum_bernoulli(bad, p0=p0)
    assert max(path) >= h
    assert cusum_colour(max(path), h) == "red"


def test_cusum_colours():
    assert cusum_colour(0.0, 4.0) == "green"
    assert cusum_colour(1.99, 4.0) == "green"
    assert cusum_colour(2.0, 4.0) == "orange"
    assert cusum_colour(4.0, 4.0) == "red"


# --- Composite scores ----------------------------------------------------------------------


def test_standardise():
    z = standardise([1.0, 2.0, 3.0])
    assert z == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5)])
    assert np.mean(z) == pytest.approx(0.0)
    assert np.std(z) == pytest.approx(1.0)
    assert standardise([0.1, 0.1, 0.1]) == [0.0, 0.0, 0.0]
    assert standardise([]) == []

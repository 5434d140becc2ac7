"""The emerging-topic rule (热点): its false-flag rate under a constant rate, its power, its
behaviour when weekly counts are overdispersed, edge cases and the leader's sentence. Pure
statistics: seeded, no database."""

import numpy as np
import pytest
from scipy import stats

from minyi.insight.emerging import (
    ALPHA_TAG,
    ALPHA_TERM,
    BASELINE_WEEKS,
    MIN_COUNT,
    RULE_VERSION,
    WINDOW_WEEKS,
    plain_words,
    rise_arrays,
    rise_test,
    rise_tests,
)

DRAWS = 100_000
RATES = (0.5, 2, 5, 15, 40)  # texts per week


def poisson_weeks(rng, rate, draws, *, window_rate=None):
    """`draws` keys: baseline weeks at `rate`, window total at `window_rate` (default: the
    same rate)."""
    baselines = rng.poisson(rate, (draws, BASELINE_WEEKS))
    currents = rng.poisson(window_rate or rate, (draws, WINDOW_WEEKS)).sum(axis=1)
    return currents, baselines


def flag_rate(currents, baselines, alpha, **kwargs) -> float:
    return float(rise_arrays(currents, baselines, alpha=alpha, **kwargs)["flagged"].mean())


# --- (a) Null: a constant rate is flagged at most a fraction alpha of the time ----------


@pytest.mark.parametrize("rate", RATES)
def test_constant_rate_false_flags_at_most_alpha(rate):
    rng = np.random.default_rng(20 + int(rate * 10))
    currents, baselines = poisson_weeks(rng, rate, DRAWS)
    assert flag_rate(currents, baselines, ALPHA_TAG) <= ALPHA_TAG
    assert flag_rate(currents, baselines, ALPHA_TERM) <= ALPHA_TERM


@pytest.mark.parametrize("rate", (0.1, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 40, 60))
def test_exact_false_flag_rate_without_the_guard_at_most_alpha(rate):
    """Not a simulation: every (window, baseline) pair is weighted by its Poisson
    probability. The baseline total is spread evenly over the weeks, so the guard stays off:
    this is the Poisson test with the minimum count and ratio, and the guard can only remove
    flags, so it bounds the rule."""
    window_mean, baseline_mean = rate * WINDOW_WEEKS, rate * BASELINE_WEEKS
    c = np.arange(int(window_mean + 12 * np.sqrt(window_mean) + 20))
    b = np.arange(int(baseline_mean + 12 * np.sqrt(baseline_mean) + 20))
    cc, bb = (a.ravel() for a in np.meshgrid(c, b, indexing="ij"))
    week = np.arange(BASELINE_WEEKS)
    weeks = bb[:, None] // BASELINE_WEEKS + (week[None, :] < bb[:, None] % BASELINE_WEEKS)
    weight = stats.poisson.pmf(cc, window_mean) * stats.poisson.pmf(bb, baseline_mean)
    assert weight.sum() > 1 - 1e-9
    for alpha in (ALPHA_TAG, ALPHA_TERM):
        a = rise_arrays(cc, weeks, alpha=alpha)
        assert not a["negbin"].any()
        assert weight[a["flagged"]].sum() <= alpha


# --- (b) Power: a doubling over two weeks is caught --------------------------------------


def test_doubling_from_30_expected_texts_is_caught():
    """15 texts a week (30 expected in the window) doubled to 30 a week: caught 95% of the
    time at the tags' level, 84% at the terms' (measured: 0.955 and 0.84)."""
    rng = np.random.default_rng(7)
    currents, baselines = poisson_weeks(rng, 15, 20_000, window_rate=30)
    assert flag_rate(currents, baselines, ALPHA_TAG) >= 0.95
    assert flag_rate(currents, baselines, ALPHA_TERM) >= 0.80


def test_doubling_to_30_texts_is_caught_as_often_as_a_one_percent_test_can():
    """7.5 texts a week doubled to 15 (30 texts in the window, 15 expected). At the tags'
    level 0.01 no test catches this 80% of the time: even knowing the true rate, the best
    one-sided test (flag at 26 or more of Poisson(15)) catches it 79% of the time. The rule,
    which must estimate the rate from 12 weeks, catches it 71% of the time; at 0.05 it would
    catch it 88% of the time."""
    oracle_cut = int(stats.poisson.isf(ALPHA_TAG, 15)) + 1
    assert stats.poisson.sf(oracle_cut - 1, 15) <= ALPHA_TAG < stats.poisson.sf(oracle_cut - 2, 15)
    oracle_power = stats.poisson.sf(oracle_cut - 1, 30)
    assert 0.78 < oracle_power < 0.80

    rng = np.random.default_rng(8)
    currents, baselines = poisson_weeks(rng, 7.5, 20_000, window_rate=15)
    power = flag_rate(currents, baselines, ALPHA_TAG)
    assert 0.69 <= power <= oracle_power
    assert flag_rate(currents, baselines, 0.05) >= 0.85
    # The minimum count costs nothing here: the test itself needs far more than 8 texts.
    assert flag_rate(currents, baselines, ALPHA_TAG, min_count=0) == power


# --- (c) Overdispersed null: weekly counts wander more than Poisson ----------------------


@pytest.mark.parametrize("rate", (2, 5, 15, 40))
def test_overdispersed_constant_rate(rate):
    """Negative-binomial weeks with variance 3 × the mean and no change in the mean. The
    Poisson test alone (with the minimum count and ratio) then flags 6-8 × alpha_tag and
    30-35 × alpha_term up to 15 texts a week (at 40 a week the minimum ratio already holds it
    to 1.8 × and 18 ×). The guard, on for about 3 keys in 4, brings this to at most
    3.1 × alpha_tag and 13.5 × alpha_term (measured, worst at 2 a week), under half the
    Poisson test's rate. It cannot bring it down to alpha: its estimate of the wandering
    from 12 weeks is itself noisy, and a quarter of the time the wandering is not detected."""
    phi = 3.0
    rng = np.random.default_rng(30 + rate)
    n, p = rate / (phi - 1), 1 / phi
    baselines = rng.negative_binomial(n, p, (DRAWS, BASELINE_WEEKS))
    currents = rng.negative_binomial(n, p, (DRAWS, WINDOW_WEEKS)).sum(axis=1)
    for alpha, bound in ((ALPHA_TAG, 3.5), (ALPHA_TERM, 15)):
        with_guard = flag_rate(currents, baselines, alpha)
        poisson_only = flag_rate(currents, baselines, alpha, overdispersion=False)
        assert with_guard <= bound * alpha
        assert with_guard <= max(0.5 * poisson_only, 1.5 * alpha)
    guarded = rise_arrays(currents, baselines, alpha=ALPHA_TAG)["negbin"].mean()
    assert guarded > 0.65


def test_guard_reports_negbin_and_raises_p():
    steady = rise_test(30, [7, 8, 7, 8, 7, 8, 7, 8, 7, 8, 7, 8], alpha=ALPHA_TAG)
    wandering = rise_test(30, [1, 15, 2, 14, 0, 16, 3, 13, 1, 15, 2, 8], alpha=ALPHA_TAG)
    assert steady.method == "poisson"
    assert steady.dispersion < 1
    assert steady.flagged
    assert wandering.baseline == steady.baseline == 90
    assert wandering.method == "negbin"
    assert wandering.dispersion > 3
    assert wandering.p_value > steady.p_value
    assert not wandering.flagged


# --- (d) Edge cases ------------------------------------------------------------------------


def test_nothing_at_all():
    rise = rise_test(0, [0] * BASELINE_WEEKS, alpha=ALPHA_TAG)
    assert rise.p_value == 1.0
    assert rise.ratio is None
    assert rise.expected == 0
    assert not rise.flagged
    assert rise.dispersion == 1.0
    assert rise.method == "poisson"


def test_brand_new_term_with_ten_texts_is_flagged():
    rise = rise_test(10, [0] * BASELINE_WEEKS, alpha=ALPHA_TERM)
    assert rise.flagged
    assert rise.ratio is None
    # Under no change, each of the 10 texts falls in the window with chance 2/14.
    assert rise.p_value == pytest.approx((WINDOW_WEEKS / (WINDOW_WEEKS + BASELINE_WEEKS)) ** 10)


def test_minimum_count_is_what_keeps_three_new_texts_from_being_a_topic():
    rise = rise_test(3, [0] * BASELINE_WEEKS, alpha=ALPHA_TAG)
    assert rise.p_value < ALPHA_TAG
    assert not rise.flagged
    assert rise_test(3, [0] * BASELINE_WEEKS, alpha=ALPHA_TAG, min_count=3).flagged


def test_below_minimum_count_never_flagged():
    currents = np.arange(MIN_COUNT)
    baselines = np.zeros((MIN_COUNT, BASELINE_WEEKS), dtype=int)
    assert not rise_arrays(currents, baselines, alpha=0.5)["flagged"].any()


def test_below_expected_never_flagged():
    # Even at alpha = 1 (every p-value passes), a fall is not a rise.
    rise = rise_test(20, [12] * BASELINE_WEEKS, alpha=1.0)
    assert rise.expected == 24
    assert rise.current < rise.expected
    assert not rise.flagged
    at_expected = rise_test(24, [12] * BASELINE_WEEKS, alpha=1.0)
    assert not at_expected.flagged


def test_a_small_rise_in_a_big_count_is_not_a_topic():
    """City-wide counts are large: 10% more is statistically clear and still no 热点."""
    rise = rise_test(2640, [1200] * BASELINE_WEEKS, alpha=ALPHA_TAG)
    assert rise.p_value < ALPHA_TERM
    assert rise.ratio == pytest.approx(1.1)
    assert not rise.flagged


def test_vectorised_equals_one_by_one():
    rng = np.random.default_rng(3)
    baselines = rng.negative_binomial(2, 0.3, (200, BASELINE_WEEKS))
    currents = rng.poisson(12, 200)
    many = rise_tests(currents, baselines, alpha=ALPHA_TAG)
    assert many == [
        rise_test(c, w, alpha=ALPHA_TAG) for c, w in zip(currents, baselines, strict=True)
    ]
    assert {r.method for r in many} == {"poisson", "negbin"}
    assert all(r.rule_version == RULE_VERSION for r in many)


def test_bad_input():
    with pytest.raises(ValueError, match="negative"):
        rise_test(-1, [1] * BASELINE_WEEKS, alpha=ALPHA_TAG)
    with pytest.raises(ValueError, match="k × B"):
        rise_tests([1, 2], [[1] * BASELINE_WEEKS], alpha=ALPHA_TAG)
    with pytest.raises(ValueError, match="baseline week"):
        rise_test(1, [], alpha=ALPHA_TAG)


# --- (e) In a leader's words ---------------------------------------------------------------


def test_plain_words_flagged():
    rise = rise_test(23, [5, 4, 6, 5, 6, 4, 5, 6, 5, 4, 6, 1], alpha=ALPHA_TAG)
    assert rise.flagged
    assert rise.expected == pytest.approx(9.5)
    assert plain_words(rise) == (
        "近两周 23 条，按此前 12 周的水平预计 9.5 条，是平时的 2.4 倍；"
        "若实际情况并无变化，仅凭偶然出现这么多或更多的概率不到 0.1%。"
    )


@pytest.mark.parametrize(
    ("current", "weeks", "alpha", "words"),
    [
        (10, [0] * 12, ALPHA_TERM, ("此前 12 周一条也没有", "不到 0.1%")),
        (0, [0] * 12, ALPHA_TAG, ("近两周没有这类文本",)),
        (5, [1] * 12, ALPHA_TAG, ("是平时的 2.5 倍", "条数太少")),
        (20, [12] * 12, ALPHA_TAG, ("是平时的 0.8 倍", "没有上升")),
        (12, [5] * 12, ALPHA_TAG, ("是平时的 1.2 倍", "约 33%", "可能只是偶然")),
        (2640, [1200] * 12, ALPHA_TAG, ("是平时的 1.1 倍", "不到平时的 1.5 倍，不算热点")),
        (30, [1, 15, 2, 14, 0, 16, 3, 13, 1, 15, 2, 8], ALPHA_TAG, ("起伏较大",)),
    ],
)
def test_plain_words_cases(current, weeks, alpha, words):
    sentence = plain_words(rise_test(current, weeks, alpha=alpha))
    for part in words:
        assert part in sentence


def test_other_window_lengths_are_spelt_out():
    rise = rise_test(12, [1] * 12, alpha=ALPHA_TAG, window_weeks=4)
    assert rise.expected == 4
    assert plain_words(rise).startswith("近 4 周 12 条")


def test_constants():
    assert RULE_VERSION.startswith("emerging-v")
    assert ALPHA_TERM < ALPHA_TAG
    assert MIN_COUNT <= 10  # a brand-new term with 10 texts must get through

"""The flag rule of the figures per evaluator (访评员绩效) on counts alone: a centre of equals
is rarely flagged (null simulation, also on clustered calls counted per callback), a clearly
weaker evaluator nearly always is (power)."""

import numpy as np
import pytest

from minyi.callbacks.evaluators import (
    ALPHA,
    MIN_CASES,
    RateFigure,
    lower_than_others,
)

SIMULATED_CENTRES = 2000


def _simulate(rng, rates, trials):
    return [int(rng.binomial(n, p)) for p, n in zip(rates, trials, strict=True)]


def test_null_simulation_false_flags_at_most_nominal():
    # Given many centres whose evaluators all have the same true reach rate, with call
    # counts from 20 to 300 and centres of 2 to 8 people,
    rng = np.random.default_rng(17)
    centres_with_a_flag = flags = tests = 0
    for _ in range(SIMULATED_CENTRES):
        k = int(rng.integers(2, 9))
        p = float(rng.choice([0.3, 0.6, 0.8, 0.95]))
        trials = rng.integers(MIN_CASES, 301, size=k).tolist()
        result = lower_than_others(_simulate(rng, [p] * k, trials), trials)
        # When the rule is applied,
        flagged = sum(c.flagged for c in result)
        centres_with_a_flag += flagged > 0
        flags += flagged
        tests += sum(c.tested for c in result)
    # Then the chance that a centre of equals has anybody flagged is at most the nominal 5%,
    # and so is the share of false flags among all comparisons.
    assert centres_with_a_flag / SIMULATED_CENTRES <= ALPHA
    assert flags / tests <= ALPHA


def _clustered_centre(rng, people, callbacks, *, mean, keep, attempts=3):
    """A centre of equals on clustered calls: each citizen has their own chance of answering
    (Beta around ``mean``, so some are nearly unreachable), each callback is called until
    answered or ``attempts`` times, and each next call stays with the same person with chance
    ``keep``. Returns (reached, trials) per person counted per callback as the page does
    (credited to the deciding call: the reaching one, else the last), and counted per call."""
    chance = rng.beta(mean, 1 - mean, size=callbacks)
    answered = rng.random((callbacks, attempts)) < chance[:, None]
    reached = answered.any(axis=1)
    deciding = np.where(reached, answered.argmax(axis=1), attempts - 1)
    workload = rng.dirichlet([5.0] * people)
    who = np.empty((callbacks, attempts), dtype=int)
    who[:, 0] = rng.choice(people, size=callbacks, p=workload)
    for j in range(1, attempts):
        fresh = rng.choice(people, size=callbacks, p=workload)
        who[:, j] = np.where(rng.random(callbacks) < keep, who[:, j - 1], fresh)
    decider = who[np.arange(callbacks), deciding]
    per_callback = (
        np.bincount(decider, weights=reached, minlength=people).astype(int),
        np.bincount(decider, minlength=people),
    )
    step = np.arange(attempts)[None, :]
    made = step <= deciding[:, None]
    success = made & (step == deciding[:, None]) & reached[:, None]
    per_call = (
        np.bincount(who[made], weights=success[made], minlength=people).astype(int),
        np.bincount(who[made], minlength=people),
    )
    return per_callback, per_call


@pytest.mark.parametrize("keep", [0.5, 1.0])
def test_null_simulation_on_clustered_calls(keep):
    # Given many centres of 6 equal evaluators with uneven workloads, 60-600 callbacks each,
    # citizens whose chance of answering varies (some nearly never answer) and up to 3 calls
    # per callback, the next call by the same person with chance `keep`,
    rng = np.random.default_rng(17)
    by_callback = by_call = 0
    for _ in range(SIMULATED_CENTRES):
        mean = float(rng.choice([0.3, 0.5, 0.7, 0.9]))
        callbacks = int(rng.integers(60, 601))
        per_callback, per_call = _clustered_centre(rng, 6, callbacks, mean=mean, keep=keep)
        # When the rule is applied to the reach rate counted per callback (as the page does)
        by_callback += any(c.flagged for c in lower_than_others(*per_callback))
        by_call += any(c.flagged for c in lower_than_others(*per_call))
    # Then a centre of equals has anybody flagged in at most the nominal 5% of centres,
    assert by_callback / SIMULATED_CENTRES <= ALPHA
    # while counting per call (the old rule) flags one in ten when a callback stays with
    # one person: an unreachable citizen's three failures are not three independent cases.
    if keep == 1.0:
        assert by_call / SIMULATED_CENTRES > 2 * ALPHA


def test_power_a_clearly_weaker_evaluator_is_flagged():
    # Given a centre where one evaluator reaches 50% of 200 calls and four others 80%,
    rng = np.random.default_rng(7)
    runs, hits, wrong = 1000, 0, 0
    for _ in range(runs):
        trials = [200, 200, 150, 250, 180]
        result = lower_than_others(_simulate(rng, [0.5, 0.8, 0.8, 0.8, 0.8], trials), trials)
        hits += result[0].flagged
        wrong += any(c.flagged for c in result[1:])
    # Then the weaker one is flagged in at least 80% of simulations, the others hardly ever.
    assert hits / runs >= 0.8
    assert wrong / runs <= ALPHA


def test_too_few_cases_are_not_compared_but_count_among_the_others():
    result = lower_than_others([0, 160, 90], [MIN_CASES - 1, 200, 100])
    assert not result[0].tested and not result[0].flagged and result[0].p_value is None
    # The small one still counts in the others' pooled rate.
    assert result[1].others_successes == 90 and result[1].others_trials == 100 + MIN_CASES - 1


def test_a_lone_evaluator_is_not_compared():
    (only,) = lower_than_others([10, 0][:1], [100])
    assert not only.tested and not only.flagged


def test_p_value_is_the_one_sided_fisher_test():
    from scipy.stats import fisher_exact

    result = lower_than_others([30, 80], [60, 100])
    _odds, p = fisher_exact([[30, 30], [80, 20]], alternative="less")
    assert result[0].p_value == pytest.approx(p)
    # Holm over two tests: the smaller p doubled (the higher one's p is near 1).
    assert result[0].p_adjusted == pytest.approx(min(1.0, 2 * p))
    assert result[0].flagged and not result[1].flagged


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        lower_than_others([5], [4])
    with pytest.raises(ValueError):
        lower_than_others([1, 2], [3])


def test_rate_words():
    few = RateFigure(3, MIN_CASES - 1)
    assert few.rate is None and few.text == "样本不足" and "样本不足" in few.words
    (low, *_rest) = lower_than_others([100, 160, 80], [200, 200, 100])
    figure = RateFigure(100, 200, low)
    assert figure.flagged
    assert figure.words.startswith("低于中心其他人的整体水平（80%），且不太可能是偶然")
    assert "95% 区间 43%–57%" in figure.text
    (near, *_rest) = lower_than_others([150, 160], [200, 200])
    assert "可能只是偶然" in RateFigure(150, 200, near).words


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from minyi.callbacks.evaluators import holm_adjust

    p = np.array([0.04, 0.001, 0.03, 0.2, 0.011, 0.9])
    assert holm_adjust(p) == pytest.approx(multipletests(p, method="holm")[1])

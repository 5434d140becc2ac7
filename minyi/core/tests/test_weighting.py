import itertools
import math

import numpy as np
import pytest

from minyi.core.stats import funnel, rank_shrunk, wilson_interval
from minyi.core.weighting import (
    WeightedCell,
    cell_estimates,
    kish_n_eff,
    rake,
    rake_detail,
)

MARGINS = {
    "age_band": {"18-29": 1200, "30-44": 1800, "45-59": 1700, "60+": 1300},
    "sex": {"男": 3100, "女": 2900},
    "residence": {"registered": 4200, "floating": 1800},
}
# A phone poll's sample: too few young and floating residents.
SAMPLE = {
    "age_band": {"18-29": 0.10, "30-44": 0.28, "45-59": 0.35, "60+": 0.27},
    "sex": {"男": 0.44, "女": 0.56},
    "residence": {"registered": 0.80, "floating": 0.20},
}


def _strata(n: int, seed: int = 1, sample=SAMPLE) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    return [
        {dim: str(rng.choice(list(p), p=list(p.values()))) for dim, p in sample.items()}
        for _ in range(n)
    ]


def _shares(strata, weights, dim):
    total = sum(weights)
    out: dict[str, float] = {}
    for respondent, w in zip(strata, weights, strict=True):
        out[respondent[dim]] = out.get(respondent[dim], 0.0) + w / total
    return out


def _population_shares(dim):
    total = sum(MARGINS[dim].values())
    return {c: v / total for c, v in MARGINS[dim].items()}


# --- Raking --------------------------------------------------------------------------------


def test_untrimmed_raking_reproduces_the_margins_exactly():
    strata = _strata(400)
    weights = rake(strata, MARGINS, trim=None)
    assert np.mean(weights) == pytest.approx(1.0)
    for dim in MARGINS:
        assert _shares(strata, weights, dim) == pytest.approx(_population_shares(dim), abs=1e-8)


def test_raking_by_hand_on_a_two_by_two_table():
    # Given 5 respondents in a 2x2 table with counts [[1, 1], [1, 2]] and margins 1:1 both ways
    strata = [
        {"g": "A", "h": "x"},
        {"g": "A", "h": "y"},
        {"g": "B", "h": "x"},
        {"g": "B", "h": "y"},
        {"g": "B", "h": "y"},
    ]
    weights = rake(strata, {"g": {"A": 1, "B": 1}, "h": {"x": 1, "y": 1}}, trim=None, tol=1e-12)
    # Then the fitted table keeps the sample's cross-product ratio (1·2)/(1·1) = 2 (Deming &
    # Stephan 1940; Bishop, Fienberg & Holland 1975, ch. 3): with every margin 2.5,
    # a² / (2.5 - a)² = 2, so a = 2.5·√2 / (1 + √2) in cells Ax and By.
    a = 2.5 * math.sqrt(2) / (1 + math.sqrt(2))
    assert weights == pytest.approx([a, 2.5 - a, 2.5 - a, a / 2, a / 2], abs=1e-9)


def test_trimmed_raking_keeps_weights_in_bounds_and_meets_margins_within_tolerance():
    # Make trimming bite: young floating residents are rare, so plain raking needs weights
    # beyond 3 for them, while the bounds can still meet the margins.
    skewed = _strata(
        400,
        seed=4,
        sample={
            "age_band": {"18-29": 0.12, "30-44": 0.25, "45-59": 0.38, "60+": 0.25},
            "sex": {"男": 0.40, "女": 0.60},
            "residence": {"registered": 0.87, "floating": 0.13},
        },
    )
    plain = rake(skewed, MARGINS, trim=None)
    assert max(plain) > 3.0 or min(plain) < 0.3
    detail = rake_detail(skewed, MARGINS)
    weights = detail.weights
    assert min(weights) >= 0.3 - 1e-12 and max(weights) <= 3.0 + 1e-12
    assert np.mean(weights) == pytest.approx(1.0)
    assert detail.converged and detail.max_gap <= 1e-8
    for dim in MARGINS:
        assert _shares(skewed, weights, dim) == pytest.approx(_population_shares(dim), abs=1e-6)
    # Trimming costs less effective sample than the untrimmed weights would.
    assert kish_n_eff(weights) > kish_n_eff(plain)


def test_unattainable_margins_stay_in_bounds_and_say_so():
    # 2 young respondents out of 100 cannot stand for half the population within [0.3, 3].
    strata = [{"age": "young"}] * 2 + [{"age": "old"}] * 98
    detail = rake_detail(strata, {"age": {"young": 50, "old": 50}})
    assert not detail.converged
    assert detail.max_gap > 0.4
    assert min(detail.weights) >= 0.3 - 1e-12 and max(detail.weights) <= 3.0 + 1e-12


def test_counts_and_shares_give_the_same_weights():
    strata = _strata(200, seed=4)
    shares = {dim: _population_shares(dim) for dim in MARGINS}
    assert rake(strata, MARGINS) == pytest.approx(rake(strata, shares))


def test_a_margin_category_missing_from_the_sample_is_absorbed_by_the_others():
    # Nobody aged 60+ answered: the other age bands share the population proportionally.
    strata = [s for s in _strata(300, seed=5) if s["age_band"] != "60+"]
    weights = rake(strata, MARGINS, trim=None)
    shares = _shares(strata, weights, "age_band")
    present = {c: v for c, v in MARGINS["age_band"].items() if c != "60+"}
    total = sum(present.values())
    assert shares == pytest.approx({c: v / total for c, v in present.items()}, abs=1e-8)


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({**MARGINS, "sex": {"男": 3100, "女": 0}}, "no population"),
        ({**MARGINS, "sex": {"男": 3100}}, "no population"),
        ({**MARGINS, "sex": {"男": 3100, "女": -5}}, "non-negative"),
        ({**MARGINS, "sex": {"男": 0, "女": 0}}, "no population"),
        ({**MARGINS, "hukou": {"x": 1}}, "no value for dimension"),
    ],
)
def test_bad_margins_raise(margins, message):
    with pytest.raises(ValueError, match=message):
        rake(_strata(50, seed=6), margins)


def test_bad_trim_raises():
    with pytest.raises(ValueError):
        rake(_strata(10), MARGINS, trim=(1.5, 3.0))


def test_kish_by_hand():
    # (1 + 1 + 2 + 4)² / (1 + 1 + 4 + 16) = 64 / 22
    assert kish_n_eff([1, 1, 2, 4]) == pytest.approx(64 / 22)
    assert kish_n_eff([0.7] * 50) == pytest.approx(50)
    assert kish_n_eff([]) == 0.0
    with pytest.raises(ValueError):
        kish_n_eff([1, -1])


# --- Cell estimates ------------------------------------------------------------------------


def _cell(key, weights, answers):
    w = np.asarray(weights, dtype=float)
    y = np.asarray(answers, dtype=float)
    return WeightedCell(key, len(w), float(w.sum()), float((w**2).sum()), float((w * y).sum()))


def _peer_cells(seed=0, units=12):
    rng = np.random.default_rng(seed)
    cells = []
    for u in range(units):
        n = 300 if u else 40  # the first unit is small
        w = np.clip(rng.lognormal(0, 0.5, n), 0.3, 3)
        w /= w.mean()
        rate = 0.7 if u == units - 1 else 0.88
        cells.append(_cell(f"u{u}", w, rng.random(n) < rate))
    return cells


def test_cell_estimates_weighted_rate_kish_and_wilson_on_effective_counts():
    cells = _peer_cells()
    out = cell_estimates(cells, min_n_eff=100, draws=500)
    assert [e.key for e in out] == [c.key for c in cells]
    for cell, est in zip(cells, out, strict=True):
        n_eff = cell.sum_w**2 / cell.sum_w2
        rate = cell.sum_wy / cell.sum_w
        assert est.n == cell.n and est.n_eff == pytest.approx(n_eff) and n_eff < cell.n
        assert est.rate == pytest.approx(rate)
        assert (est.low, est.high) == pytest.approx(wilson_interval(rate * n_eff, n_eff))


def test_cell_estimates_rank_only_cells_with_enough_effective_sample():
    cells = _peer_cells()
    out = cell_estimates(cells, min_n_eff=100, draws=500)
    small = out[0]
    assert small.n_eff < 100
    assert not small.ranked
    assert small.rate is not None and small.low is not None
    assert small.z_adjusted is None and small.median_rank is None and small.p_bottom3 is None
    assert small.shrunk is None and small.rank_low is None and small.p_last is None
    # The others are ranked among themselves, exactly as the stats rules do on effective counts.
    ranked = out[1:]
    assert all(e.ranked for e in ranked)
    s_eff = [e.rate * e.n_eff for e in ranked]
    n_eff = [e.n_eff for e in ranked]
    expected_z = [p.z_adjusted for p in funnel(s_eff, n_eff).points]
    assert [e.z_adjusted for e in ranked] == pytest.approx(expected_z)
    expected = rank_shrunk(s_eff, n_eff, draws=500)
    assert [e.shrunk for e in ranked] == pytest.approx([r.posterior_mean for r in expected])
    assert [e.median_rank for e in ranked] == [r.median_rank for r in expected]
    # The bad unit is last and clearly below.
    worst = out[-1]
    assert worst.median_rank == len(ranked) and worst.p_last > 0.9
    assert worst.z_adjusted < -3.09
    assert all(e.target == ranked[0].target and e.tau2 is not None for e in ranked)


def test_lower_is_better_flips_the_z_sign_and_the_ranks():
    cells = _peer_cells()[1:]
    up = cell_estimates(cells, min_n_eff=100, draws=300)
    down = cell_estimates(cells, min_n_eff=100, draws=300, higher_is_better=False)
    assert [d.z_adjusted for d in down] == pytest.approx([-u.z_adjusted for u in up])
    assert down[-1].median_rank == 1


def test_fewer_than_two_eligible_cells_ranks_nobody():
    cells = _peer_cells()[:2]
    out = cell_estimates(cells, min_n_eff=100, draws=100)
    assert [e.ranked for e in out] == [False, False]
    assert out[1].rate is not None and out[1].z_adjusted is None
    empty = WeightedCell("none", 0, 0.0, 0.0, 0.0)
    (est,) = cell_estimates([empty], min_n_eff=1)
    assert est.rate is None and est.low is None and est.n_eff == 0.0 and not est.ranked


def test_cell_estimates_reject_impossible_sums():
    with pytest.raises(ValueError):
        cell_estimates([WeightedCell("x", 3, 2.0, 2.0, 3.0)], min_n_eff=1)


def test_pooling_waves_is_adding_the_sums():
    # Pooled over waves, n_eff is Kish's over all respondents together.
    rng = np.random.default_rng(9)
    waves = [(rng.uniform(0.3, 3, 100), rng.random(100) < 0.8) for _ in range(4)]
    cells = [_cell(i, w, y) for i, (w, y) in enumerate(waves)]
    pooled = WeightedCell(
        "all",
        sum(c.n for c in cells),
        sum(c.sum_w for c in cells),
        sum(c.sum_w2 for c in cells),
        sum(c.sum_wy for c in cells),
    )
    all_w = list(itertools.chain.from_iterable(w for w, _ in waves))
    (est,) = cell_estimates([pooled], min_n_eff=1)
    assert est.n_eff == pytest.approx(kish_n_eff(all_w))
    assert math.isclose(est.rate, pooled.sum_wy / pooled.sum_w)

import numpy as np
import pytest

from minyi.core.composite import (
    CompositeResult,
    IndicatorInput,
    accountability_gate,
    composite,
)

UNITS = 60


def _indicator(code, weight, rates, trials, *, public, higher_is_better=True):
    trials = np.asarray(trials, dtype=float)
    successes = np.round(np.asarray(rates) * trials)
    return IndicatorInput(
        code=code,
        weight=weight,
        higher_is_better=higher_is_better,
        public=public,
        successes=successes.tolist(),
        trials=trials.tolist(),
    )


def _peer_group(public_sd, business_sd, *, seed=0):
    """Five poll indicators sharing one public-opinion signal and three business figures,
    weights 0.51 / 0.49; the blocks are independent of each other."""
    rng = np.random.default_rng(seed)
    opinion = rng.standard_normal(UNITS)
    inds = []
    for k in range(5):
        rates = np.clip(
            0.86 + public_sd * (0.95 * opinion + 0.05 * rng.standard_normal(UNITS)), 0, 1
        )
        inds.append(_indicator(f"poll{k}", 0.102, rates, [50_000] * UNITS, public=True))
    business = rng.standard_normal(UNITS)
    for k, w in enumerate((0.2, 0.15, 0.14)):
        rates = np.clip(
            0.5 + business_sd * (0.95 * business + 0.05 * rng.standard_normal(UNITS)), 0, 1
        )
        inds.append(_indicator(f"biz{k}", w, rates, [50_000] * UNITS, public=False))
    return inds


def _total(shares):
    return sum(v for code, v in shares.items() if code != "public")


def test_z_scoring_makes_the_effective_share_follow_the_nominal_weight():
    # Given public opinion spread 10x narrower than the business figures
    inds = _peer_group(public_sd=0.015, business_sd=0.15)
    eligible = [True] * UNITS
    z_scored = composite(inds, eligible=eligible, draws=200)
    raw = composite(inds, eligible=eligible, draws=200, standardise=False)

    assert z_scored.nominal["public"] == pytest.approx(0.51)
    assert raw.nominal == z_scored.nominal
    # Then z-scored: two independent blocks of equal spread share the variance as w², so
    # 0.51² / (0.51² + 0.49²) = 0.520, up to the sample correlation of the blocks.
    assert z_scored.effective["public"] == pytest.approx(0.51**2 / (0.51**2 + 0.49**2), abs=0.04)
    # And raw: the "51%" carries about 1% of the ranking (0.51²·0.015² against 0.49²·0.15²).
    expected_raw = (0.51 * 0.015) ** 2 / ((0.51 * 0.015) ** 2 + (0.49 * 0.15) ** 2)
    assert raw.effective["public"] == pytest.approx(expected_raw, abs=0.01)
    assert raw.effective["public"] < 0.03
    assert _total(z_scored.effective) == pytest.approx(1.0)
    assert _total(raw.effective) == pytest.approx(1.0)


def test_the_domain_four_percent_example():
    # DOMAIN.md: "a 51% public opinion weight may carry 4% of the real influence": public
    # spread 5x narrower than the business figures, combined raw.
    inds = _peer_group(public_sd=0.03, business_sd=0.15, seed=1)
    raw = composite(inds, eligible=[True] * UNITS, draws=100, standardise=False)
    assert 0.02 < raw.effective["public"] < 0.07
    z_scored = composite(inds, eligible=[True] * UNITS, draws=100)
    assert z_scored.effective["public"] > 0.45


def test_effective_shares_add_to_one_on_arbitrary_data():
    rng = np.random.default_rng(5)
    inds = [
        _indicator(
            f"i{k}",
            float(rng.uniform(0.05, 0.3)),
            rng.beta(20, 5, 40),
            rng.integers(100, 900, 40),
            public=k < 3,
            higher_is_better=bool(k % 2),
        )
        for k in range(7)
    ]
    result = composite(inds, eligible=[True] * 40, draws=100)
    assert _total(result.effective) == pytest.approx(1.0)
    assert result.effective["public"] == pytest.approx(
        sum(result.effective[f"i{k}"] for k in range(3))
    )
    assert result.nominal["public"] == pytest.approx(sum(i.weight for i in inds[:3]))


def test_point_composite_is_the_weighted_sum_of_z_scores_with_directions():
    rates_up = 0.6 + 0.03 * np.arange(10)
    rates_down = 0.05 + 0.025 * np.arange(10)  # complaints: the last unit is worst
    inds = [
        _indicator("satisfaction", 0.6, rates_up, [1000] * 10, public=True),
        _indicator(
            "complaints", 0.4, rates_down, [1000] * 10, public=False, higher_is_better=False
        ),
    ]
    result = composite(inds, eligible=[True] * 10, draws=500)
    for unit, up, down in zip(result.units, rates_up, rates_down, strict=True):
        z_up = (up - rates_up.mean()) / rates_up.std()
        z_down = -(down - rates_down.mean()) / rates_down.std()
        assert unit.z["satisfaction"] == pytest.approx(z_up, abs=1e-3)
        assert unit.z["complaints"] == pytest.approx(z_down, abs=1e-3)
        assert unit.composite == pytest.approx(0.6 * z_up + 0.4 * z_down, abs=1e-3)
        assert unit.low < unit.composite < unit.high


def test_ranks_and_probabilities_are_consistent():
    inds = _peer_group(public_sd=0.02, business_sd=0.1, seed=3)
    # Smaller samples so that the ranks are uncertain.
    inds = [
        IndicatorInput(i.code, i.weight, i.higher_is_better, i.public,
                       [s / 100 for s in i.successes], [n / 100 for n in i.trials])
        for i in inds
    ]  # fmt: skip
    result = composite(inds, eligible=[True] * UNITS, draws=1000)
    units = result.units
    assert sum(u.p_last for u in units) == pytest.approx(1.0)
    assert sum(u.p_bottom3 for u in units) == pytest.approx(3.0)
    for u in units:
        assert 1 <= u.rank_low <= u.median_rank <= u.rank_high <= UNITS
        assert 0 <= u.p_last <= u.p_bottom3 <= 1
    best = min(units, key=lambda u: u.raw_rank)
    worst = max(units, key=lambda u: u.raw_rank)
    assert best.raw_rank == 1 and worst.raw_rank == UNITS
    assert best.composite == max(u.composite for u in units)
    assert worst.p_bottom3 > best.p_bottom3


def test_ineligible_units_are_never_ranked_and_do_not_move_the_scale():
    rates = [0.80, 0.85, 0.90, 0.20]
    inds = [_indicator("manyi", 1.0, rates, [500, 500, 500, 20], public=True)]
    result = composite(inds, eligible=[True, True, True, False], draws=500)
    small = result.units[3]
    assert small.composite is None and small.median_rank is None and small.p_bottom3 is None
    assert small.raw_rank is None and small.low is None
    # Its z is still reported, against the eligible units' mean and sd.
    assert small.z["manyi"] == pytest.approx((0.20 - 0.85) / np.std([0.80, 0.85, 0.90]))
    assert max(u.rank_high for u in result.units[:3]) <= 3
    assert result.units[0].median_rank == 3


def test_missing_indicator_counts_as_the_peer_mean():
    inds = [
        _indicator("a", 0.5, [0.7, 0.8, 0.9, 0.8], [400] * 4, public=True),
        IndicatorInput("b", 0.5, True, False, [10, 20, 30, 0], [100, 100, 100, 0]),
    ]
    result = composite(inds, eligible=[True] * 4, draws=300)
    last = result.units[3]
    assert last.z["b"] is None
    assert last.composite == pytest.approx(0.5 * last.z["a"])


def test_fewer_than_two_eligible_units_gives_no_composite():
    inds = [_indicator("a", 1.0, [0.7, 0.8], [400, 400], public=True)]
    result = composite(inds, eligible=[True, False], draws=10)
    assert all(u.composite is None and u.p_bottom3 is None for u in result.units)
    assert result.effective == {"a": 1.0, "public": 1.0}


def test_deterministic_for_a_seed():
    inds = _peer_group(public_sd=0.02, business_sd=0.1, seed=4)
    one = composite(inds, eligible=[True] * UNITS, draws=300, seed=9)
    two = composite(inds, eligible=[True] * UNITS, draws=300, seed=9)
    assert one == two
    assert isinstance(one, CompositeResult)


@pytest.mark.parametrize(
    "bad",
    [
        [IndicatorInput("a", 1, True, True, [1, 2], [5, 5])] * 2,
        [IndicatorInput("public", 1, True, True, [1, 2], [5, 5])],
        [IndicatorInput("a", -1, True, True, [1, 2], [5, 5])],
        [IndicatorInput("a", 1, True, True, [1], [5])],
        [IndicatorInput("a", 1, True, True, [6, 2], [5, 5])],
        [IndicatorInput("a", 0, True, True, [1, 2], [5, 5])],
        [],
    ],
)  # fmt: skip
def test_bad_input_raises(bad):
    with pytest.raises(ValueError):
        composite(bad, eligible=[True, True], draws=10)


@pytest.mark.parametrize(
    ("p_bottom3", "z_adjusted", "n_eff", "marked"),
    [
        (0.85, 0.0, 400, True),  # probably in the bottom three
        (0.80, 0.0, 300, True),  # both thresholds inclusive
        (0.79, -3.0, 400, False),  # neither
        (0.10, -3.2, 400, True),  # far below the funnel
        (0.10, -3.09, 400, False),  # strictly below -3.09
        (0.95, -5.0, 299, False),  # too small a sample, whatever the figures
        (None, None, 1000, False),
        (0.95, None, None, False),
        (None, -4.0, 500, True),
    ],
)
def test_accountability_gate(p_bottom3, z_adjusted, n_eff, marked):
    assert accountability_gate(p_bottom3=p_bottom3, z_adjusted=z_adjusted, n_eff=n_eff) is marked


def test_gate_thresholds_are_configurable():
    assert accountability_gate(p_bottom3=0.7, z_adjusted=0, n_eff=200, p_gate=0.6, min_n_eff=150)
    assert not accountability_gate(p_bottom3=0.1, z_adjusted=-2.5, n_eff=400)
    assert accountability_gate(p_bottom3=0.1, z_adjusted=-2.5, n_eff=400, z_gate=2.33)


def test_units_no_indicator_tells_apart_share_the_ranks():
    # Every unit has the same rates: every draw ties, and nobody may be last by position.
    inds = [
        _indicator("a", 0.6, [0.85] * 10, [400] * 10, public=True),
        _indicator("b", 0.4, [0.5] * 10, [200] * 10, public=False),
    ]
    result = composite(inds, eligible=[True] * 10, draws=2000)
    for unit in result.units:
        assert unit.composite == 0.0
        assert unit.p_bottom3 == pytest.approx(0.3, abs=0.05)
        assert unit.p_last == pytest.approx(0.1, abs=0.03)
        assert not accountability_gate(p_bottom3=unit.p_bottom3, z_adjusted=0.0, n_eff=400)


def test_small_peer_groups_can_drop_the_p_arm():
    # 3 of 8 units is no "bottom": with peers given, only the funnel arm counts below 20.
    assert accountability_gate(p_bottom3=0.9, z_adjusted=-1.0, n_eff=400)
    assert not accountability_gate(p_bottom3=0.9, z_adjusted=-1.0, n_eff=400, peers=8)
    assert accountability_gate(p_bottom3=0.9, z_adjusted=-3.5, n_eff=400, peers=8)
    assert accountability_gate(p_bottom3=0.9, z_adjusted=-1.0, n_eff=400, peers=60)

"""The statistics of the three colours (三色), required for anything that flags places: a
constant-rate Poisson world rarely shows red, a community at twice the city rate is found,
grey when too little is expected, and the two-month rule. Pure numpy, no database."""

import numpy as np
import pytest

from minyi.community.colours import (
    colour_persist,
    colour_signals,
    ratio_interval,
)

RATE = 30 / 10_000 / 12  # 30 incidents per 10,000 residents a year, per month


def _run(populations, relative_risk, months, rng):
    """Roll the 12-month window over `months` months; the signals and colours shown."""
    n = len(populations)
    monthly = rng.poisson(populations * RATE * relative_risk, (months + 11, n))
    previous_signal = np.array([""] * n, dtype=object)
    previous_colour = previous_signal.copy()
    signals, colours, expected = [], [], []
    for t in range(11, months + 11):
        observed = monthly[t - 11 : t + 1].sum(axis=0)
        result = colour_signals(observed, populations)
        colour = colour_persist(result.signal, previous_signal, previous_colour)
        signals.append(result.signal)
        colours.append(colour)
        expected.append(result.expected)
        previous_signal, previous_colour = result.signal, colour
    return np.array(signals), np.array(colours), np.array(expected)


def test_null_world_rarely_shows_red():
    # Given 200 communities of 2,000-20,000 residents, all at the same rate
    rng = np.random.default_rng(20261203)
    populations = rng.integers(2_000, 20_001, 200).astype(float)
    # When ten years of months are coloured
    signals, colours, _expected = _run(populations, np.ones(200), 120, rng)
    # Then red is at most 1% of area-months, as a signal and as shown
    assert (signals == "red").mean() <= 0.01
    assert (colours == "red").mean() <= 0.01
    # and orange (p < 0.05 or a ratio of 1.2) stays rare too
    assert (signals == "orange").mean() <= 0.05


def test_twice_the_city_rate_is_found():
    # Given communities whose rates differ as real ones do (relative risk Gamma, sd 0.5)
    # and one at twice the city's rate with about 10 incidents expected a year
    rng = np.random.default_rng(7)
    found, flagged = [], []
    for _world in range(10):
        populations = rng.integers(2_000, 20_001, 200).astype(float)
        risk = rng.gamma(4.0, 0.25, 200)
        populations[0] = 3_333  # E ≈ 10 a year at 30 per 10,000
        risk[0] = 2.0 * (populations[1:] * risk[1:]).sum() / populations[1:].sum()
        _signals, colours, expected = _run(populations, risk, 36, rng)
        assert 8 < expected[:, 0].mean() < 12
        found.append(colours[:, 0] == "red")
        flagged.append(np.isin(colours[:, 0], ["red", "orange"]))
    # Then it is red in most months (about 60% here; p < 0.01 alone caps it near 62%)
    assert np.mean(found) > 0.5
    # and red or orange in nearly all
    assert np.mean(flagged) > 0.85


def test_grey_when_fewer_than_five_expected():
    result = colour_signals([0, 9, 40, 60], [1_000, 1_500, 10_000, 0])
    # city rate = 49 / 12,500; E = 3.9, 5.9, 39.2, 0
    assert list(result.signal[[0, 3]]) == ["grey", "grey"]
    assert result.signal[1] != "grey"
    assert result.ratio[3] == 0 and result.p_value[3] == 1


def test_smoothing_pulls_small_areas_towards_the_city():
    observed = np.array([12, 40, 30, 25, 35, 50, 20])
    population = np.array([2_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000])
    result = colour_signals(observed, population)
    raw = observed / result.expected
    assert result.prior_a is not None
    # The small area's ratio moves towards 1 more than a big area's with the same raw ratio
    assert 1 < result.ratio[0] < raw[0]
    assert abs(result.ratio[1] - 1) < abs(raw[1] - 1) + 1e-9
    # The expected counts add up to the observed (m = 1 by construction)
    assert result.expected.sum() == pytest.approx(observed.sum())


def test_no_extra_variation_means_every_ratio_is_one():
    # Identical rates (s² = 0): no area is different from the city
    result = colour_signals([30, 30, 30], [10_000, 10_000, 10_000])
    assert result.prior_a is None
    assert list(result.ratio) == [1, 1, 1]
    assert set(result.signal) == {"green"}


def test_red_needs_both_the_ratio_and_the_p_value():
    # A big, clearly high area among varied ones: red
    observed = np.array([150, 30, 28, 32, 25, 35, 30, 31, 29, 60])
    population = np.full(10, 10_000.0)
    result = colour_signals(observed, population)
    assert result.signal[0] == "red"
    assert result.ratio[0] >= 1.5 and result.p_value[0] < 0.01
    # An area merely above by chance at p < 0.05 but with a ratio below 1.2 is orange
    for i in range(10):
        if result.signal[i] == "orange":
            assert result.ratio[i] >= 1.2 or result.p_value[i] < 0.05


def test_one_red_month_does_not_change_a_green_area_two_do():
    colour = np.array(["green"], dtype=object)
    signal = np.array(["green"], dtype=object)
    shown = []
    for new_signal in ["red", "green", "red", "red", "red", "green", "green"]:
        colour = colour_persist([new_signal], signal, colour)
        signal = np.array([new_signal], dtype=object)
        shown.append(colour[0])
    assert shown == ["green", "green", "green", "red", "red", "red", "green"]


def test_first_month_shows_its_signal_and_grey_shows_at_once():
    assert list(colour_persist(["orange"], [""], [""])) == ["orange"]
    assert list(colour_persist(["grey"], ["red"], ["red"])) == ["grey"]
    # leaving grey takes the usual two months
    assert list(colour_persist(["green"], ["grey"], ["grey"])) == ["grey"]
    assert list(colour_persist(["green"], ["green"], ["grey"])) == ["green"]


def test_ratio_interval():
    low, high = ratio_interval(20, 10.0)
    assert 1.3 < low < 1.5 and 2.6 < high < 3.0
    assert ratio_interval(0, 10.0)[0] == 0
    assert ratio_interval(3, 0) == (None, None)

"""Null and power simulation of the accountability gate (issue 14), small enough for the suite.

The full run (1,000 replications, more draws, raked weights too) is
``scripts/null_simulation.py``; its figures are in docs/statistics.md. This test runs the
same code: 60 equal stations, 4 waves of 400 respondents, five poll indicators at 0.85 and
three business figures, the rule's weights (public 0.51), respondents' weights at the
trimming bounds (26% at 3, the rest at 0.3: n_eff 167 per wave, 668 pooled, the smallest
effective sample trimmed weights allow for 400 respondents).

Nominal rates (docs/statistics.md, "The gate"): the z arm is one-sided P(Z < -3.09) = 0.001
per unit-assessment; the P(bottom 3) arm is a posterior probability with no frequentist
rate of its own, so its rate is a budget we state and check, 0.004; the gate (either arm) is
held to their sum, 0.005. A rate passes when the observed count is within the exact binomial
upper bound under the nominal rate (99.9%; the Monte Carlo noise of a few thousand
unit-assessments), i.e. the simulation gives no evidence of a rate above nominal.
"""

import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings
from scipy.stats import beta, binom

NOMINAL_Z = 0.001
NOMINAL_P = 0.004
NOMINAL_GATE = NOMINAL_Z + NOMINAL_P


@pytest.fixture(scope="module")
def simulation():
    path = Path(settings.BASE_DIR) / "scripts" / "null_simulation.py"
    spec = importlib.util.spec_from_file_location("null_simulation", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _within_nominal(count: int, trials: int, nominal: float) -> bool:
    return count <= binom.ppf(0.999, trials, nominal)


def test_false_flags_under_the_null_stay_at_or_below_nominal(simulation):
    # Given 150 assessments of 60 stations that are all truly equal
    tally = simulation.run(simulation.bounds_design(), replications=150, seed=11, draws=500)
    n = tally.null_units
    assert n == 150 * 60
    assert tally.min_n_eff == pytest.approx(667.5, abs=1)
    # Then each arm and the gate flag no more than their nominal rates
    assert _within_nominal(tally.null_z, n, NOMINAL_Z), tally
    assert _within_nominal(tally.null_p, n, NOMINAL_P), tally
    assert _within_nominal(tally.null_gate, n, NOMINAL_GATE), tally
    # While "ranked last on the point composite" marks one innocent station every time.
    assert tally.null_raw_last >= 150


def test_a_station_ten_points_worse_is_caught(simulation):
    # Given one station 10 points worse on the five poll indicators (0.75 against 0.85),
    # at 167 effective respondents per wave (668 pooled over the 4 waves)
    tally = simulation.run(
        simulation.bounds_design(), replications=60, seed=12, bad_unit=0, draws=500
    )
    # Then the gate catches it in at least 80% of assessments, with 95% confidence
    lower = beta.ppf(0.05, tally.bad_gate, tally.bad - tally.bad_gate + 1)
    assert lower >= 0.8, tally
    assert _within_nominal(tally.null_gate, tally.null_units, NOMINAL_GATE), tally


def test_the_gate_cannot_fire_below_its_minimum_sample(simulation):
    # 40 respondents a wave with equal weights: pooled n_eff 160, under the gate's 300.
    tally = simulation.run(
        simulation.equal_design(40), replications=3, seed=13, bad_unit=0, draws=100
    )
    assert tally.max_n_eff == pytest.approx(160)
    assert tally.bad_gate == 0 and tally.null_gate == 0

"""The funnel plot checked against a second implementation written from the sources.

``_reference_funnel`` below is written in plain Python (math only, no numpy, nothing from
``minyi.core.stats``) from Spiegelhalter (2005), "Funnel plots for comparing institutional
performance", Stat Med 24:1185, sections 3 (proportions on the arcsine-square-root scale) and
6 (overdispersion: winsorised z, phi, the additive random effect tau²), following the NHS R
Community FunnelPlotR package's steps for proportions (``transformed_zscore`` with
data_type "PR", ``winsorisation`` with trim_by = 0.1 using R's default quantile, type 7,
``phi_func``, ``tau_func``). The limits are also compared with exact binomial quantiles,
which Spiegelhalter (2005, section 3.1) gives as the exact version of the same funnel.
"""

import math

import pytest
from scipy.stats import binom

from minyi.core.stats import Z_ALARM, Z_ALERT, funnel, funnel_limits


def _r_quantile_type7(values: list[float], p: float) -> float:
    """R's quantile(x, p) with its default type 7 (Hyndman & Fan 1996)."""
    x = sorted(values)
    h = (len(x) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(x) - 1)
    return x[lo] + (h - lo) * (x[hi] - x[lo])


def _reference_funnel(successes: list[float], trials: list[float]) -> dict:
    total_s, total_n = sum(successes), sum(trials)
    target = total_s / total_n
    theta = math.asin(math.sqrt(target))
    y = [math.asin(math.sqrt(s / n)) for s, n in zip(successes, trials, strict=True)]
    se = [1 / (2 * math.sqrt(n)) for n in trials]
    z = [(yi - theta) / si for yi, si in zip(y, se, strict=True)]

    # Winsorise at the 10th and 90th percentiles, then phi = mean of squares.
    lz, uz = _r_quantile_type7(z, 0.1), _r_quantile_type7(z, 0.9)
    wz = [lz if zi < lz else uz if zi > uz else zi for zi in z]
    k = len(z)
    phi = sum(v * v for v in wz) / k

    # DerSimonian–Laird style additive random effect with w = 1 / s².
    w = [1 / (si * si) for si in se]
    if k * phi < k - 1:
        tau2 = 0.0
    else:
        tau2 = max(0.0, (k * phi - (k - 1)) / (sum(w) - sum(wi * wi for wi in w) / sum(w)))
    z_adj = [(yi - theta) / math.sqrt(si * si + tau2) for yi, si in zip(y, se, strict=True)]
    return {"target": target, "theta": theta, "z": z, "phi": phi, "tau2": tau2, "z_adj": z_adj}


def _reference_limits(n: float, theta: float, tau2: float, z: float) -> tuple[float, float]:
    half = z * math.sqrt(1 / (4 * n) + tau2)
    return (
        math.sin(max(0.0, theta - half)) ** 2,
        math.sin(min(math.pi / 2, theta + half)) ** 2,
    )


# Satisfied / answered for 24 stations: spread well beyond chance (overdispersed).
OVERDISPERSED = (
    [412, 377, 290, 515, 188, 333, 702, 251, 468, 389, 144, 610,
     355, 297, 521, 433, 176, 640, 268, 380, 505, 222, 310, 455],
    [480, 430, 360, 560, 240, 400, 780, 300, 520, 470, 160, 700,
     410, 380, 590, 480, 230, 720, 310, 420, 600, 250, 390, 500],
)  # fmt: skip
# 20 stations within chance of 88%: phi below 1, no overdispersion.
WITHIN_CHANCE = (
    [352, 356, 349, 355, 351, 354, 350, 357, 353, 352,
     348, 355, 351, 353, 356, 350, 354, 352, 349, 355],
    [400] * 20,
)  # fmt: skip
# Effective counts of a weighted poll (rate·n_eff out of n_eff) are fractional.
EFFECTIVE = (
    [251.37, 198.04, 305.9, 220.11, 187.66, 240.5, 266.3, 150.2, 280.75, 210.0],
    [290.4, 231.9, 340.2, 262.8, 215.3, 280.0, 300.6, 190.1, 318.2, 250.5],
)


@pytest.mark.parametrize("data", [OVERDISPERSED, WITHIN_CHANCE, EFFECTIVE])
def test_funnel_matches_the_reference_implementation(data):
    successes, trials = data
    ours = funnel(successes, trials)
    ref = _reference_funnel(successes, trials)
    assert ours.target == pytest.approx(ref["target"], rel=1e-12)
    assert ours.phi == pytest.approx(ref["phi"], rel=1e-10)
    assert ours.tau2 == pytest.approx(ref["tau2"], rel=1e-10, abs=1e-15)
    assert [p.z for p in ours.points] == pytest.approx(ref["z"], rel=1e-10)
    assert [p.z_adjusted for p in ours.points] == pytest.approx(ref["z_adj"], rel=1e-10)
    for n in (50, 300, max(trials)):
        for z in (Z_ALERT, Z_ALARM):
            assert funnel_limits(n, ours.target, ours.tau2, z) == pytest.approx(
                _reference_limits(n, ref["theta"], ref["tau2"], z), rel=1e-12
            )


def test_the_reference_data_cover_both_regimes():
    over = _reference_funnel(*OVERDISPERSED)
    within = _reference_funnel(*WITHIN_CHANCE)
    assert over["phi"] > 2 and over["tau2"] > 0
    assert within["phi"] < 1 and within["tau2"] == 0.0
    # Hand check of the first overdispersed station: 412/480 against the pooled rate.
    p0 = sum(OVERDISPERSED[0]) / sum(OVERDISPERSED[1])
    z0 = (math.asin(math.sqrt(412 / 480)) - math.asin(math.sqrt(p0))) * 2 * math.sqrt(480)
    assert over["z"][0] == pytest.approx(z0)


@pytest.mark.parametrize(("n", "p0"), [(400, 0.85), (1200, 0.85), (300, 0.6), (668, 0.9)])
def test_arcsine_limits_agree_with_exact_binomial_limits(n, p0):
    # Spiegelhalter (2005, 3.1): the exact funnel is the binomial quantile at each n; the
    # arcsine-square-root limits approximate it. Within a point and a half at these sizes.
    for z, tail in ((Z_ALERT, 0.025), (Z_ALARM, 0.001)):
        low, high = funnel_limits(n, p0, 0.0, z)
        exact_low = binom.ppf(tail, n, p0) / n
        exact_high = binom.ppf(1 - tail, n, p0) / n
        assert low == pytest.approx(exact_low, abs=0.015)
        assert high == pytest.approx(exact_high, abs=0.015)

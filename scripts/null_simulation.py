"""Null and power simulation of the accountability gate (issue 14; docs/statistics.md).

60 equal stations, 4 poll waves of 400 respondents each, five poll indicators answered by
every respondent (true rate 0.85 for all), three business figures (equal true rates), the
rule's weights (public opinion 0.51), the composite and the funnel exactly as the
assessment computes them (minyi.core.weighting, minyi.core.composite). Per replication the
answers and business counts are drawn afresh; the respondents' weights are a fixed design
(raked once per unit and wave from a skewed sample, or set at the trimming bounds).

Run: .venv/bin/python scripts/null_simulation.py [--replications 1000] [--draws 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import beta as beta_dist

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minyi.core.composite import (
    GATE_MIN_N_EFF,
    IndicatorInput,
    accountability_gate,
    composite,
)
from minyi.core.weighting import WeightedCell, cell_estimates, kish_n_eff, rake

UNITS = 60
WAVES = 4
RESPONDENTS = 400
POLL = ("jianjing", "taidu", "zhixiao", "manyi", "anquan")  # 见警率 服务态度 知晓率 满意度 安全感
SATISFACTION = POLL.index("manyi")
POLL_RATE = 0.85
POLL_WEIGHT = 0.51 / len(POLL)
# Business figures: (code, true rate, denominator per unit, weight); public 0.51 + 0.49.
BUSINESS = (
    ("clearance", 0.60, 150, 0.20),
    ("recovery", 0.45, 80, 0.15),
    ("ontime", 0.92, 250, 0.14),
)

POPULATION = {
    "age_band": {"18-29": 0.22, "30-44": 0.30, "45-59": 0.28, "60+": 0.20},
    "sex": {"男": 0.51, "女": 0.49},
    "residence": {"registered": 0.70, "floating": 0.30},
}
# Who answers a phone poll: the young and floating residents under-represented.
SAMPLE = {
    "age_band": {"18-29": 0.12, "30-44": 0.28, "45-59": 0.34, "60+": 0.26},
    "sex": {"男": 0.45, "女": 0.55},
    "residence": {"registered": 0.82, "floating": 0.18},
}


def raked_design(seed: int, respondents: int = RESPONDENTS) -> np.ndarray:
    """Weights (units, waves, respondents): each unit-wave's sample drawn from SAMPLE and
    raked, with trimming to [0.3, 3], to POPULATION."""
    rng = np.random.default_rng(seed)
    out = np.empty((UNITS, WAVES, respondents))
    for u in range(UNITS):
        for w in range(WAVES):
            strata = [
                {
                    dim: str(rng.choice(list(shares), p=list(shares.values())))
                    for dim, shares in SAMPLE.items()
                }
                for _ in range(respondents)
            ]
            out[u, w] = rake(strata, POPULATION)
    return out


def bounds_design(respondents: int = RESPONDENTS) -> np.ndarray:
    """Weights at the trimming bounds (26% at 3, the rest at 0.3; mean 1): the smallest
    effective sample trimmed weights allow, n_eff ≈ 0.417·n (167 of 400 per wave)."""
    high = round(respondents * 0.7 / 2.7)
    w = np.array([3.0] * high + [0.3] * (respondents - high))
    w /= w.mean()
    return np.broadcast_to(w, (UNITS, WAVES, respondents)).copy()


def equal_design(respondents: int) -> np.ndarray:
    return np.ones((UNITS, WAVES, respondents))


@dataclass
class Tally:
    replications: int = 0
    null_units: int = 0  # unit-assessments where the unit is truly equal to its peers
    null_z: int = 0
    null_p: int = 0
    null_gate: int = 0
    null_raw_last: int = 0  # the naive rule: ranked last on the point composite
    bad: int = 0
    bad_z: int = 0
    bad_p: int = 0
    bad_gate: int = 0
    min_n_eff: float = float("inf")
    max_n_eff: float = 0.0


def replicate(
    rng: np.random.Generator,
    weights: np.ndarray,
    tally: Tally,
    *,
    bad_unit: int | None,
    bad_indicators: tuple[int, ...] = tuple(range(len(POLL))),
    shortfall: float = 0.10,
    draws: int,
) -> None:
    """One assessment: draw the answers and business figures, run the gate for every unit."""
    p = np.full((UNITS, len(POLL)), POLL_RATE)
    if bad_unit is not None:
        p[bad_unit, list(bad_indicators)] -= shortfall
    answers = rng.random((UNITS, WAVES, weights.shape[2], len(POLL))) < p[:, None, None, :]
    sum_w = weights.sum(axis=(1, 2))
    sum_w2 = (weights**2).sum(axis=(1, 2))
    sum_wy = np.einsum("uwr,uwrk->uk", weights, answers)
    n_eff = sum_w**2 / sum_w2

    indicators = [
        IndicatorInput(
            code=code,
            weight=POLL_WEIGHT,
            higher_is_better=True,
            public=True,
            successes=(sum_wy[:, k] / sum_w * n_eff).tolist(),
            trials=n_eff.tolist(),
        )
        for k, code in enumerate(POLL)
    ]
    for code, rate, denominator, weight in BUSINESS:
        numerator = rng.binomial(denominator, rate, UNITS)
        indicators.append(
            IndicatorInput(code, weight, True, False, numerator.tolist(), [denominator] * UNITS)
        )
    eligible = (n_eff >= GATE_MIN_N_EFF).tolist()
    result = composite(indicators, eligible=eligible, draws=draws, seed=int(rng.integers(2**31)))
    cells = [
        WeightedCell(u, WAVES * weights.shape[2], sum_w[u], sum_w2[u], sum_wy[u, SATISFACTION])
        for u in range(UNITS)
    ]
    satisfaction = cell_estimates(cells, min_n_eff=GATE_MIN_N_EFF, draws=100)

    tally.replications += 1
    tally.min_n_eff = min(tally.min_n_eff, float(n_eff.min()))
    tally.max_n_eff = max(tally.max_n_eff, float(n_eff.max()))
    ranked = [unit.raw_rank for unit in result.units if unit.raw_rank is not None]
    worst = max(ranked) if ranked else None
    for u in range(UNITS):
        unit, cell = result.units[u], satisfaction[u]
        z_arm = cell.z_adjusted is not None and cell.z_adjusted < -3.09 and n_eff[u] >= 300
        p_arm = unit.p_bottom3 is not None and unit.p_bottom3 >= 0.8 and n_eff[u] >= 300
        gate = accountability_gate(
            p_bottom3=unit.p_bottom3, z_adjusted=cell.z_adjusted, n_eff=float(n_eff[u])
        )
        assert gate == (z_arm or p_arm)
        if u == bad_unit:
            tally.bad += 1
            tally.bad_z += z_arm
            tally.bad_p += p_arm
            tally.bad_gate += gate
        else:
            tally.null_units += 1
            tally.null_z += z_arm
            tally.null_p += p_arm
            tally.null_gate += gate
            tally.null_raw_last += unit.raw_rank is not None and unit.raw_rank == worst


def run(
    weights: np.ndarray,
    *,
    replications: int,
    seed: int,
    bad_unit: int | None = None,
    bad_indicators: tuple[int, ...] = tuple(range(len(POLL))),
    draws: int = 10_000,
    checkpoint: str = "",
) -> Tally:
    """``replications`` assessments; with ``checkpoint`` set, the running figures are
    printed every 100 replications under that title (a long run can be read as it goes)."""
    rng = np.random.default_rng(seed)
    tally = Tally()
    for i in range(replications):
        replicate(
            rng, weights, tally, bad_unit=bad_unit, bad_indicators=bad_indicators, draws=draws
        )
        if checkpoint and (i + 1) % 100 == 0 and i + 1 < replications:
            report(f"(running) {checkpoint}", tally)
            sys.stdout.flush()
    return tally


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial (Clopper–Pearson) interval for k successes out of n."""
    a = 1 - level
    low = 0.0 if k == 0 else float(beta_dist.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta_dist.ppf(1 - a / 2, k + 1, n - k))
    return low, high


def upper_bound(k: int, n: int, level: float = 0.95) -> float:
    """One-sided exact upper confidence bound for a binomial rate."""
    return 1.0 if k == n else float(beta_dist.ppf(level, k + 1, n - k))


def _line(label: str, k: int, n: int) -> str:
    low, high = clopper_pearson(k, n)
    return f"  {label:<44} {k:>6} / {n:<7} = {k / n:.5f}  95% CI [{low:.5f}, {high:.5f}]"


def report(title: str, tally: Tally) -> None:
    print(
        f"{title} ({tally.replications} replications; pooled n_eff per unit "
        f"{tally.min_n_eff:.0f}–{tally.max_n_eff:.0f})"
    )
    if tally.null_units:
        n = tally.null_units
        print(_line("false flag, z arm (z_adj < -3.09)", tally.null_z, n))
        print(_line("false flag, P arm (P(bottom 3) >= 0.8)", tally.null_p, n))
        print(_line("false flag, gate (either arm, n_eff >= 300)", tally.null_gate, n))
        print(_line("naive: ranked last on the point composite", tally.null_raw_last, n))
    if tally.bad:
        n = tally.bad
        print(_line("power, z arm", tally.bad_z, n))
        print(_line("power, P arm", tally.bad_p, n))
        print(_line("power, gate", tally.bad_gate, n))


SCENARIOS = {
    "null-raked": "NULL, raked weights, 60 equal units",
    "null-bounds": "NULL, weights at the bounds (per-wave n_eff 167), 60 equal units",
    "power-all": "POWER, weights at the bounds (per-wave n_eff 167, pooled 668), one unit 10 points"
    " worse on all five poll indicators",
    "power-manyi": "POWER, weights at the bounds (pooled n_eff 668), one unit 10 points worse on"
    " 满意度 only",
    "power-floor": "POWER, equal weights, 75 respondents per wave (pooled n_eff 300, the gate's"
    " floor), one unit 10 points worse on all five",
}


def scenario(name: str, *, replications: int, seed: int, draws: int) -> Tally:
    offset = list(SCENARIOS).index(name) + 1
    common = {
        "replications": replications,
        "seed": seed + offset,
        "draws": draws,
        "checkpoint": name,
    }
    if name == "null-raked":
        return run(raked_design(seed), **common)
    if name == "null-bounds":
        return run(bounds_design(), **common)
    if name == "power-all":
        return run(bounds_design(), bad_unit=0, **common)
    if name == "power-manyi":
        return run(bounds_design(), bad_unit=0, bad_indicators=(SATISFACTION,), **common)
    return run(equal_design(75), bad_unit=0, **common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args()
    started = time.perf_counter()

    raked = raked_design(args.seed)
    raked_n_eff = [kish_n_eff(raked[u, w]) for u in range(UNITS) for w in range(WAVES)]
    print(
        f"design 'raked': per-wave n_eff {min(raked_n_eff):.0f}-{max(raked_n_eff):.0f} of "
        f"{RESPONDENTS}; weights in [{raked.min():.3f}, {raked.max():.3f}]"
    )
    print(
        f"design 'bounds': per-wave n_eff {kish_n_eff(bounds_design()[0, 0]):.1f} of {RESPONDENTS}"
    )
    for name in args.only:
        tally = scenario(name, replications=args.replications, seed=args.seed, draws=args.draws)
        print()
        report(f"[{name}] {SCENARIOS[name]}", tally)
    print()
    print(
        f"null_simulation: {args.replications} replications, {args.draws} draws, "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()

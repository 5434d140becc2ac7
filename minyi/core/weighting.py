"""Poll weighting and per-cell estimates (DOMAIN.md capability 2, "Statistics we use").

Pure functions, no models: the polls and assessment apps call them.

- **Raking** (iterative proportional fitting; Deming & Stephan 1940, Ann Math Stat 11:427)
  of respondents' weights to a unit's population margins (age band, sex, registered/floating
  resident), with the weights trimmed to [0.3, 3] relative to a mean of 1 ("trimmed raking";
  Izrael, Hoaglin & Battaglia 2000/2004; Battaglia et al. 2009, Survey Practice 2(5)):
  :func:`rake`, :func:`rake_detail`.
- **Effective sample size** (Kish 1965, Survey Sampling): ``(Σw)² / Σw²``: :func:`kish_n_eff`.
- **One peer group's cells for one indicator**: weighted rate, Wilson interval on effective
  counts, empirical-Bayes rate and posterior ranks, overdispersion-adjusted funnel z, among
  the cells with enough effective sample only: :func:`cell_estimates`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minyi.core import stats

DEFAULT_TRIM = (0.3, 3.0)


# --- Raking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RakingResult:
    """Raked weights (mean 1, in input order) and how the fit went.

    ``max_gap`` is the largest difference, over every category of every dimension, between
    the weighted sample share and the population share. ``converged`` is False when
    ``max_iter`` sweeps did not bring it below ``tol``: with trimming this means the bounds
    make the margins unattainable (a category far too rare in the sample); the weights are
    then within the bounds and as close to the margins as the sweeps got.
    """

    weights: list[float]
    iterations: int
    converged: bool
    max_gap: float


def _target_shares(
    margins: Mapping[str, Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    shares: dict[str, dict[str, float]] = {}
    for dimension, categories in margins.items():
        values = {str(c): float(v) for c, v in categories.items()}
        bad = [c for c, v in values.items() if not math.isfinite(v) or v < 0]
        if bad:
            raise ValueError(
                f"margin of dimension {dimension!r} must be non-negative numbers; "
                f"bad categories: {', '.join(sorted(bad))}"
            )
        total = sum(values.values())
        if total <= 0:
            raise ValueError(f"margin of dimension {dimension!r} has no population")
        shares[dimension] = {c: v / total for c, v in values.items()}
    return shares


def _category_indices(
    strata: Sequence[Mapping[str, str]], shares: dict[str, dict[str, float]]
) -> dict[str, tuple[np.ndarray, list[str], np.ndarray]]:
    """Per dimension: each respondent's category index, the sample's categories and their
    population shares renormalised over the categories the sample holds."""
    out: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}
    for dimension, population in shares.items():
        labels: list[str] = []
        for row, respondent in enumerate(strata):
            if dimension not in respondent:
                raise ValueError(f"respondent {row} has no value for dimension {dimension!r}")
            labels.append(str(respondent[dimension]))
        seen = sorted(set(labels))
        unknown = [c for c in seen if population.get(c, 0.0) == 0.0]
        if unknown:
            raise ValueError(
                f"dimension {dimension!r}: categories {', '.join(unknown)} occur in the sample "
                "but have no population in the margins"
            )
        # A margin category nobody in the sample belongs to cannot be weighted up; the
        # dimension's other categories absorb its share in proportion to their own.
        present = np.array([population[c] for c in seen])
        position = {c: i for i, c in enumerate(seen)}
        index = np.array([position[c] for c in labels], dtype=np.int64)
        out[dimension] = (index, seen, present / present.sum())
    return out


def _scale_category(w: np.ndarray, target: float, low: float, high: float) -> np.ndarray:
    """``clip(f * w, low, high)`` with the factor f for which the sum equals ``target``.

    This is the step of raking within bounds (the entropy-closest weights to ``w`` that
    meet one category's total inside the box). The sum is increasing in f, so f is found
    by bisection on log f. When the box cannot reach the target the weights end at a bound.
    """
    total = w.sum()
    if total <= 0:
        return w
    plain = w * (target / total)
    if plain.min() >= low and plain.max() <= high:
        return plain
    if target <= low * len(w):
        return np.full_like(w, low)
    if target >= high * len(w):
        return np.full_like(w, high)
    lo_f, hi_f = math.log(max(low, 1e-12) / w.max()), math.log(high / w.min())
    for _ in range(100):
        mid = (lo_f + hi_f) / 2.0
        if np.clip(w * math.exp(mid), low, high).sum() < target:
            lo_f = mid
        else:
            hi_f = mid
        if hi_f - lo_f < 1e-13:
            break
    return np.clip(w * math.exp((lo_f + hi_f) / 2.0), low, high)


def _max_gap(
    w: np.ndarray, categories: dict[str, tuple[np.ndarray, list[str], np.ndarray]]
) -> float:
    total = w.sum()
    gap = 0.0
    for index, seen, target in categories.values():
        achieved = np.bincount(index, weights=w, minlength=len(seen)) / total
        gap = max(gap, float(np.max(np.abs(achieved - target))))
    return gap


def rake_detail(
    strata: Sequence[Mapping[str, str]],
    margins: Mapping[str, Mapping[str, float]],
    *,
    trim: tuple[float, float] | None = DEFAULT_TRIM,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> RakingResult:
    """:func:`rake` with the fit's diagnostics (see :class:`RakingResult`)."""
    if max_iter < 1 or not tol > 0:
        raise ValueError("max_iter must be at least 1 and tol positive")
    if trim is None:
        low, high = 0.0, math.inf
    else:
        low, high = (float(x) for x in trim)
        if not (0.0 <= low < 1.0 < high):
            raise ValueError("trim must be (low, high) with 0 <= low < 1 < high")
    shares = _target_shares(margins)
    n = len(strata)
    if n == 0:
        return RakingResult(weights=[], iterations=0, converged=True, max_gap=0.0)
    categories = _category_indices(strata, shares)
    members = {
        dimension: [np.flatnonzero(index == c) for c in range(len(seen))]
        for dimension, (index, seen, _target) in categories.items()
    }

    # Totals are kept at n (shares times n), so the weights keep a mean of exactly 1 and
    # the bounds are relative to the mean weight.
    w = np.ones(n)
    iterations = 0
    gap = _max_gap(w, categories)
    while gap > tol and iterations < max_iter:
        iterations += 1
        for dimension, (_index, _seen, target) in categories.items():
            for c, rows in enumerate(members[dimension]):
                w[rows] = _scale_category(w[rows], target[c] * n, low, high)
        w *= n / w.sum()  # undo rounding drift; a no-op once the totals are met
        if trim is not None:
            np.clip(w, low, high, out=w)
        gap = _max_gap(w, categories)
    return RakingResult(
        weights=w.tolist(), iterations=iterations, converged=gap <= tol, max_gap=gap
    )


def rake(
    strata: Sequence[Mapping[str, str]],
    margins: Mapping[str, Mapping[str, float]],
    *,
    trim: tuple[float, float] | None = DEFAULT_TRIM,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> list[float]:
    """Raking weights so that the weighted sample matches the population margins.

    ``strata`` holds one mapping per respondent, dimension -> category (for example
    ``{"age_band": "18-29", "sex": "女", "residence": "floating"}``); ``margins`` holds,
    per dimension, the population of each category as counts or shares (each dimension is
    normalised on its own). Dimensions of a respondent not in ``margins`` are ignored.

    Iterative proportional fitting (Deming & Stephan 1940), one dimension after another,
    until every weighted share is within ``tol`` of its margin or ``max_iter`` sweeps.
    Weights have mean 1. With ``trim=(low, high)`` (default (0.3, 3)) every step is taken
    within the bounds: a category's weights are multiplied by the common factor that meets
    its total with the weights clipped to [low, high], which is "trim, re-rake, repeat"
    carried to its fixed point, so the result always lies within the bounds and meets the
    margins whenever the bounds allow it. ``trim=None`` is plain raking.

    Raises ValueError when a respondent's category has no population (absent or 0) in the
    margins, when a respondent lacks a dimension of the margins, or when a margin is
    negative or empty. A margin category that nobody in the sample belongs to cannot be
    weighted up: its share is spread over the dimension's other categories in proportion to
    their own shares (the population is, in effect, renormalised over the categories the
    sample reached). Check :func:`rake_detail` for whether the margins were met.
    """
    return rake_detail(strata, margins, trim=trim, max_iter=max_iter, tol=tol).weights


def kish_n_eff(weights: Sequence[float]) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``; 0.0 for no (or all-zero) weights."""
    w = np.asarray(weights, dtype=float).reshape(-1)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return _n_eff(float(w.sum()), float((w**2).sum()))


def _n_eff(sum_w: float, sum_w2: float) -> float:
    return sum_w**2 / sum_w2 if sum_w2 > 0 else 0.0


# --- One peer group's cells for one indicator ----------------------------------------------


@dataclass(frozen=True)
class WeightedCell:
    """One unit x indicator (x wave, or pooled over waves by adding the sums), over the
    respondents who answered it: ``n`` respondents, ``sum_w`` = Σw, ``sum_w2`` = Σw²,
    ``sum_wy`` = Σw·y with y = 1 for a positive answer (满意, 见过, …) else 0."""

    key: Any
    n: int
    sum_w: float
    sum_w2: float
    sum_wy: float


@dataclass(frozen=True)
class CellEstimate:
    """Estimates for one cell. ``rate`` is the weighted rate and ``low``/``high`` its 95%
    Wilson interval on effective counts (None without answers). The rest is None, and
    ``ranked`` False, for a cell under the minimum effective sample or in a group with
    fewer than two eligible cells: ``shrunk`` (empirical-Bayes posterior mean),
    ``z_adjusted`` (funnel z with overdispersion, oriented so that negative is worse than
    the peers whatever the direction of the indicator), the posterior ranks (1 = best;
    ``rank_low``/``rank_high`` the 90% interval), ``p_last`` and ``p_bottom3``. ``target``
    and ``tau2`` are the funnel's (the same for every ranked cell of the group): pass them to
    :func:`minyi.core.stats.funnel_limits` to draw it.
    """

    key: Any
    n: int
    n_eff: float
    rate: float | None
    low: float | None
    high: float | None
    shrunk: float | None
    z_adjusted: float | None
    median_rank: float | None
    rank_low: int | None
    rank_high: int | None
    p_last: float | None
    p_bottom3: float | None
    ranked: bool
    target: float | None = None
    tau2: float | None = None


def _check_cell(cell: WeightedCell) -> None:
    values = (cell.sum_w, cell.sum_w2, cell.sum_wy)
    if cell.n < 0 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"cell {cell.key!r}: counts and sums must be non-negative")
    if cell.sum_wy > cell.sum_w * (1 + 1e-9):
        raise ValueError(f"cell {cell.key!r}: sum_wy exceeds sum_w")


def cell_estimates(
    cells: Sequence[WeightedCell],
    *,
    min_n_eff: float,
    draws: int = 4000,
    higher_is_better: bool = True,
    seed: int = 0,
) -> list[CellEstimate]:
    """Estimates for one peer group's cells of one indicator, in input order.

    Weighted rate ``sum_wy / sum_w``; ``n_eff = sum_w² / sum_w2`` (Kish); the Wilson interval
    on the effective counts ``(rate·n_eff, n_eff)``. Among the cells with
    ``n_eff >= min_n_eff`` only (at least two of them, else nobody is ranked): the
    empirical-Bayes prior, posterior means and ranks from ``draws`` posterior draws
    (:func:`minyi.core.stats.rank_shrunk`) and the overdispersion-adjusted funnel z
    (:func:`minyi.core.stats.funnel`), both on effective counts. Deterministic for a seed.
    """
    for cell in cells:
        _check_cell(cell)
    n_eff = [_n_eff(c.sum_w, c.sum_w2) for c in cells]
    rate = [min(1.0, c.sum_wy / c.sum_w) if c.sum_w > 0 else None for c in cells]
    eligible = [
        i for i, (ne, r) in enumerate(zip(n_eff, rate, strict=True)) if r is not None and ne > 0
    ]
    eligible = [i for i in eligible if n_eff[i] >= min_n_eff]

    ranks: dict[int, stats.RankResult] = {}
    z: dict[int, float | None] = {}
    target = tau2 = None
    if len(eligible) >= 2:
        s_eff = [rate[i] * n_eff[i] for i in eligible]  # type: ignore[operator]
        n_eff_eligible = [n_eff[i] for i in eligible]
        ranked = stats.rank_shrunk(
            s_eff, n_eff_eligible, draws=draws, seed=seed, higher_is_better=higher_is_better
        )
        result = stats.funnel(s_eff, n_eff_eligible)
        target, tau2 = result.target, result.tau2
        sign = 1.0 if higher_is_better else -1.0
        for i, rank, point in zip(eligible, ranked, result.points, strict=True):
            ranks[i] = rank
            z[i] = None if point.z_adjusted is None else sign * point.z_adjusted

    out: list[CellEstimate] = []
    for i, cell in enumerate(cells):
        interval = None
        if rate[i] is not None and n_eff[i] > 0:
            interval = stats.wilson_interval(rate[i] * n_eff[i], n_eff[i])  # type: ignore[operator]
        rank = ranks.get(i)
        out.append(
            CellEstimate(
                key=cell.key,
                n=cell.n,
                n_eff=n_eff[i],
                rate=rate[i],
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
                shrunk=rank.posterior_mean if rank else None,
                z_adjusted=z.get(i),
                median_rank=float(rank.median_rank) if rank else None,
                rank_low=rank.rank_low if rank else None,
                rank_high=rank.rank_high if rank else None,
                p_last=rank.p_last if rank else None,
                p_bottom3=rank.p_bottom3 if rank else None,
                ranked=rank is not None,
                target=target if rank else None,
                tau2=tau2 if rank else None,
            )
        )
    return out

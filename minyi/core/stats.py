"""Statistics behind Minyi's figures (DOMAIN.md, "Statistics we use").

These figures decide promotions and accountability, so every rule here follows a published
method and every figure should carry ``RULE_VERSION``, the version of the rules that
produced it. Change a rule, change the version.

Rules and their sources:

- **Rates with intervals** — Wilson score interval (Wilson 1927), computed by statsmodels
  ``proportion_confint(method="wilson")``: :func:`wilson_interval`.
- **Comparing units** — funnel plot for proportions (Spiegelhalter 2005, "Funnel plots for
  comparing institutional performance", Stat Med 24:1185) on the arcsine-square-root scale:
  ``y = asin(sqrt(p))``, ``s = 1 / (2 sqrt(n))``, ``z = (y - θ) / s``. Overdispersion is
  handled with an additive random effect estimated as in the NHS R Community FunnelPlotR
  package (Spiegelhalter 2005, section 6): the z-scores are winsorised at the 10th and 90th
  percentiles, ``phi = mean(z_w²)``; when ``k·phi > k - 1``,
  ``τ² = max(0, (k·phi - (k - 1)) / (Σw - Σw² / Σw))`` with ``w = 1 / s²``, otherwise
  ``τ² = 0``; the adjusted score is ``(y - θ) / sqrt(s² + τ²)``. ``|z| > 1.96`` is an
  alert (95% limits), ``|z| > 3.09`` an alarm (99.8% limits): :func:`funnel`,
  :func:`funnel_limits`.
- **Ranking** — empirical-Bayes shrinkage: a beta-binomial prior fitted to the peer group by
  maximum likelihood (scipy), a Beta posterior per unit, and the ranks of posterior draws
  (Goldstein & Spiegelhalter 1996, "League tables and their limitations", JRSS A 159:385;
  Marshall & Spiegelhalter 1998, BMJ 316:1701): median rank, 90% rank interval, P(last),
  P(bottom 3): :func:`rank_shrunk`.
- **Officer early warning** — Bernoulli CUSUM (Reynolds & Stoumbos 1999, J Qual Technol
  31:87; Steiner et al. 2000 for the log-likelihood-ratio weights):
  ``S_t = max(0, S_{t-1} + y_t·ln R - ln(1 - p0 + R·p0))``, with the threshold h calibrated
  by simulation so that the family-wise false-alarm rate over all monitored officers stays at
  the stated level (Bonferroni): :func:`cusum_bernoulli`, :func:`cusum_threshold`,
  :func:`cusum_colour`.
- **Composite scores** — each indicator is put on the z scale (population standard
  deviation) before weighting: :func:`standardise`; the assessment's composite, its
  effective shares and the accountability gate are in :mod:`minyi.core.composite`.
- **Weighted polls** — raking, Kish's effective sample size and per-cell estimates are in
  :mod:`minyi.core.weighting`. The rules above take effective (fractional) counts
  ``(rate·n_eff, n_eff)`` unchanged.

docs/statistics.md states the methods, sources and the measured rates of the gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy.stats import rankdata
from statsmodels.stats.proportion import proportion_confint

RULE_VERSION = "stats-2026.1"

Z_ALERT = 1.96  # two-sided 95% funnel limits
Z_ALARM = 3.09  # two-sided 99.8% funnel limits

FLAG_ALARM = "alarm"
FLAG_ALERT = "alert"

# Fewer units than this cannot tell overdispersion from chance, nor fit a prior.
MIN_UNITS_FOR_SPREAD = 3

# Bounds for the beta-binomial prior's parameters. The upper bound stands for "no spread
# between units at all" (complete pooling), where the likelihood keeps rising towards
# infinity. The lower bound keeps a peer group with (almost) no events finite, and keeps
# posterior draws from underflowing to exactly 0 or 1, where ties would be ranked by
# position in the input instead of by chance.
_PRIOR_BOUNDS = (math.log(0.05), math.log(1e7))
# Jeffreys prior, used when no prior can be fitted.
_FALLBACK_PRIOR = (0.5, 0.5)

# The CUSUM simulation needs about this many simulated sequences beyond the threshold to
# read a quantile; rarer tails are extrapolated (see cusum_threshold).
_TAIL_EXCEEDANCES = 10


# --- Validation ----------------------------------------------------------------------------


def _counts(successes: Sequence[float], trials: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Counts as arrays: integers when every count is whole, floats otherwise.

    Fractional counts are the effective counts of a weighted poll (``rate * n_eff`` out of
    ``n_eff``, Kish 1965); every rule below applies to them unchanged.
    """
    s = np.asarray(successes, dtype=float).reshape(-1)
    n = np.asarray(trials, dtype=float).reshape(-1)
    if s.shape != n.shape:
        raise ValueError("successes and trials must have the same length")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(n))):
        raise ValueError("successes and trials must be finite")
    # A relative slack lets rate * n_eff exceed n_eff by a rounding error.
    if np.any(n < 0) or np.any(s < 0) or np.any(s > n * (1 + 1e-12)):
        raise ValueError("need 0 <= successes <= trials for every unit")
    s = np.minimum(s, n)
    if np.all(s == np.round(s)) and np.all(n == np.round(n)):
        return s.astype(np.int64), n.astype(np.int64)
    return s, n


def _number(x: float | np.integer | np.floating) -> int | float:
    """A count as a Python int when it is whole (plain polls, business figures), else float."""
    value = float(x)
    return int(value) if value.is_integer() else value


def _check_rate(name: str, value: float, *, open_interval: bool) -> None:
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not (math.isfinite(value) and ok):
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}")


# --- Rates with intervals ------------------------------------------------------------------


def wilson_interval(
    successes: float, trials: float, alpha: float = 0.05
) -> tuple[float, float] | None:
    """Wilson score interval for ``successes / trials`` at confidence ``1 - alpha``.

    Returns ``(low, high)`` as rates in [0, 1], or None when there are no trials. Effective
    (fractional) counts of a weighted poll are accepted: ``(rate * n_eff, n_eff)``.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError("need 0 <= successes <= trials")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if trials == 0:
        return None
    low, high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    return float(low), float(high)


# --- Comparing units: funnel plot ----------------------------------------------------------


@dataclass(frozen=True)
class FunnelPoint:
    """One unit on the funnel plot. ``index`` is its position in the input sequences.

    ``rate``, ``z`` and ``z_adjusted`` are None for a unit with no trials. ``flag`` is
    "alarm", "alert" or "" and is decided by ``z_adjusted``; its sign says the direction
    (negative = below the target).
    """

    index: int
    successes: int | float
    trials: int | float
    rate: float | None
    z: float | None
    z_adjusted: float | None
    flag: str


@dataclass(frozen=True)
class FunnelResult:
    """A peer group's funnel: the points, the target rate, and the overdispersion used.

    ``tau2`` is the additive between-unit variance on the arcsine-square-root scale (pass it
    to :func:`funnel_limits` to draw the adjusted funnel); ``phi`` is the winsorised
    dispersion ratio (about 1 when units differ by chance only).
    """

    points: list[FunnelPoint]
    target: float
    tau2: float
    phi: float


def _flag(z_adjusted: float) -> str:
    if abs(z_adjusted) > Z_ALARM:
        return FLAG_ALARM
    if abs(z_adjusted) > Z_ALERT:
        return FLAG_ALERT
    return ""


def _winsorised_phi(z: np.ndarray) -> float:
    low, high = np.quantile(z, [0.1, 0.9])
    return float(np.mean(np.clip(z, low, high) ** 2))


def funnel(
    successes: Sequence[float], trials: Sequence[float], *, target: float | None = None
) -> FunnelResult:
    """Funnel-plot z-scores for one peer group, with additive overdispersion.

    ``target`` is the rate every unit is compared with; by default the pooled rate
    (total successes / total trials of the group). Units with no trials are returned with
    ``z = None`` and no flag and take no part in the estimates. With fewer than three units
    with data ``tau2`` is 0. With no data at all and no target, ``target`` is 0.0. Counts may
    be effective (fractional) counts of a weighted poll.
    """
    s, n = _counts(successes, trials)
    has_data = n > 0
    if target is None:
        total = int(n.sum())
        target = float(s.sum() / total) if total else 0.0
    _check_rate("target", target, open_interval=False)

    theta = math.asin(math.sqrt(target))
    n_d = n[has_data].astype(float)
    y = np.arcsin(np.sqrt(s[has_data] / n_d))
    se = 1.0 / (2.0 * np.sqrt(n_d))
    z = (y - theta) / se
    k = int(has_data.sum())

    phi = _winsorised_phi(z) if k else 0.0
    tau2 = 0.0
    if k >= MIN_UNITS_FOR_SPREAD and k * phi > k - 1:
        w = 1.0 / se**2
        tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    z_adj = (y - theta) / np.sqrt(se**2 + tau2)

    points: list[FunnelPoint] = []
    position = iter(range(k))
    for i, (si, ni) in enumerate(zip(s.tolist(), n.tolist(), strict=True)):
        if ni == 0:
            points.append(FunnelPoint(i, si, ni, None, None, None, ""))
            continue
        j = next(position)
        za = float(z_adj[j])
        points.append(FunnelPoint(i, si, ni, si / ni, float(z[j]), za, _flag(za)))
    return FunnelResult(points=points, target=float(target), tau2=float(tau2), phi=phi)


def funnel_limits(trials: float, target: float, tau2: float, z: float) -> tuple[float, float]:
    """Control limits, as rates, for a unit with ``trials`` trials: where the funnel is drawn.

    ``sin²(θ ± z·sqrt(s² + τ²))`` with ``θ = asin(sqrt(target))`` and ``s = 1 / (2 sqrt(n))``;
    the angle is kept within [0, π/2] so the limits stay within [0, 1]. Use ``z = Z_ALERT``
    and ``z = Z_ALARM`` for the two funnels and ``tau2`` from :func:`funnel`.
    """
    if trials <= 0:
        raise ValueError("trials must be positive")
    _check_rate("target", target, open_interval=False)
    if tau2 < 0 or z < 0:
        raise ValueError("tau2 and z must be non-negative")
    theta = math.asin(math.sqrt(target))
    half_width = z * math.sqrt(1.0 / (4.0 * trials) + tau2)
    low = max(0.0, theta - half_width)
    high = min(math.pi / 2, theta + half_width)
    return math.sin(low) ** 2, math.sin(high) ** 2


# --- Ranking: empirical-Bayes shrinkage ----------------------------------------------------


@dataclass(frozen=True)
class RankResult:
    """A unit's place in its peer group, with the uncertainty of that place.

    Ranks run from 1 (best) to k (worst, k = number of units). ``raw_rate`` and
    ``raw_rank`` are None for a unit with no trials; ``raw_rank`` averages ties and must
    only be shown beside the rank interval. ``median_rank``, ``rank_low`` and
    ``rank_high`` (the 90% interval) are ranks among the posterior draws; ``p_last`` is
    P(rank = k) and ``p_bottom3`` is P(rank > k - 3).
    """

    index: int
    successes: int | float
    trials: int | float
    raw_rate: float | None
    raw_rank: float | None
    posterior_mean: float
    median_rank: int
    rank_low: int
    rank_high: int
    p_last: float
    p_bottom3: float


def _beta_binomial_nll(
    log_ab: np.ndarray, s: np.ndarray, n: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative beta-binomial log-likelihood (without the binomial coefficients, which do not
    depend on the prior) and its gradient with respect to (log alpha, log beta)."""
    a, b = np.exp(log_ab)
    f = n - s
    ll = np.sum(special.betaln(s + a, f + b) - special.betaln(a, b))
    dig_total = special.digamma(n + a + b)
    dig_ab = special.digamma(a + b)
    da = np.sum(special.digamma(s + a) - dig_total) + len(s) * (dig_ab - special.digamma(a))
    db = np.sum(special.digamma(f + b) - dig_total) + len(s) * (dig_ab - special.digamma(b))
    return -float(ll), -np.array([a * da, b * db])


def _fit_beta_binomial_prior(s: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (alpha, beta) of a beta-binomial over the units with data."""
    has_data = n > 0
    s, n = s[has_data].astype(float), n[has_data].astype(float)
    fallback = _FALLBACK_PRIOR
    if len(s) < MIN_UNITS_FOR_SPREAD:
        return fallback

    # Start from the method of moments: between-unit variance of the rates beyond what
    # binomial noise explains gives the prior's strength alpha + beta.
    mean = float(np.clip(s.sum() / n.sum(), 1e-3, 1 - 1e-3))
    excess = np.var(s / n) - mean * (1 - mean) * np.mean(1.0 / n)
    strength = mean * (1 - mean) / excess - 1.0 if excess > 0 else 1e3
    strength = float(np.clip(strength, 1.0, 1e5))
    lo, hi = _PRIOR_BOUNDS
    start = np.clip(np.log([mean * strength, (1 - mean) * strength]), lo, hi)

    try:
        result = optimize.minimize(
            _beta_binomial_nll,
            start,
            args=(s, n),
            jac=True,
            method="L-BFGS-B",
            bounds=[_PRIOR_BOUNDS, _PRIOR_BOUNDS],
        )
    except (ValueError, FloatingPointError):
        return fallback
    # L-BFGS-B can stop with "abnormal termination in line search" at a flat optimum;
    # accept any finite answer that is no worse than where it started.
    start_nll = _beta_binomial_nll(start, s, n)[0]
    if not (np.all(np.isfinite(result.x)) and np.isfinite(result.fun)):
        return fallback
    best = result.x if result.fun <= start_nll else start
    a, b = np.exp(best)
    return float(a), float(b)


def beta_binomial_prior(successes: Sequence[float], trials: Sequence[float]) -> tuple[float, float]:
    """The peer group's empirical-Bayes prior Beta(alpha, beta), as used by :func:`rank_shrunk`.

    Fitted by maximum likelihood over the units with trials; the Jeffreys prior (1/2, 1/2)
    with fewer than three such units or when the fit fails.
    """
    s, n = _counts(successes, trials)
    return _fit_beta_binomial_prior(s, n)


@dataclass(frozen=True)
class RankSummary:
    """Per-unit summaries of ranks over joint draws (arrays of length k, 1 = best)."""

    median_rank: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    p_last: np.ndarray
    p_bottom3: np.ndarray


def rank_draws(
    values: np.ndarray, *, higher_is_better: bool = True, rng: np.random.Generator | None = None
) -> RankSummary:
    """Rank every row of ``values`` (draws x units) and summarise each unit's ranks.

    Median rank, the 90% rank interval (5th and 95th percentiles of the rank), P(rank = k)
    and P(rank > k - 3). Ties within a draw (units that cannot be told apart, e.g.
    when no indicator varies) are broken at random with ``rng``, so that tied units share
    the ranks evenly; without ``rng`` they are broken by position, which is only right for
    draws from continuous distributions, where ties do not occur.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] < 1:
        raise ValueError("values must be a (draws, units) array with at least one draw")
    draws, k = values.shape
    # Sort each draw once: order[d, j] is the unit ranked j + 1 in draw d. Counting
    # (unit, position) pairs gives, per unit, how often it took each rank.
    key = -values if higher_is_better else values
    order = np.argsort(key, axis=1)
    if rng is not None and k > 1:
        ordered = np.take_along_axis(key, order, axis=1)
        if np.any(ordered[:, 1:] == ordered[:, :-1]):
            order = np.lexsort((rng.random(values.shape), key), axis=1)
    histogram = np.bincount((order * k + np.arange(k)[None, :]).ravel(), minlength=k * k).reshape(
        k, k
    )
    cumulative = np.cumsum(histogram, axis=1) / draws

    def rank_quantile(q: float) -> np.ndarray:
        # The smallest rank whose cumulative share reaches q; the tolerance keeps a share of
        # exactly q from being lost to rounding.
        return np.argmax(cumulative >= q - 1e-12, axis=1) + 1

    return RankSummary(
        median_rank=rank_quantile(0.5),
        rank_low=rank_quantile(0.05),
        rank_high=rank_quantile(0.95),
        p_last=histogram[:, k - 1] / draws,
        p_bottom3=histogram[:, max(0, k - 3) :].sum(axis=1) / draws,
    )


def _raw_ranks(rates: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """1 = best, ties get the average of the ranks they span."""
    return rankdata(-rates if higher_is_better else rates, method="average")


def rank_shrunk(
    successes: Sequence[float],
    trials: Sequence[float],
    *,
    draws: int = 4000,
    seed: int = 0,
    higher_is_better: bool = True,
) -> list[RankResult]:
    """Rank a peer group's units by their shrunken rates, with rank uncertainty.

    A beta-binomial prior is fitted to the group by maximum likelihood (with fewer than three
    units with data, or if the fit fails, the Jeffreys prior Beta(1/2, 1/2) is used instead);
    each unit's posterior is Beta(alpha + s, beta + n - s). ``draws`` joint draws are ranked
    (1 = best; ``higher_is_better=False`` for rates where less is better, such as
    complaints). Units with no trials are ranked on the prior alone, which gives them a wide
    interval; leave them out if they should not appear. Deterministic for a given ``seed``.
    Counts may be effective (fractional) counts of a weighted poll.
    """
    if draws < 1:
        raise ValueError("draws must be at least 1")
    s, n = _counts(successes, trials)
    k = len(s)
    if k == 0:
        return []
    alpha, beta = _fit_beta_binomial_prior(s, n)
    post_a = alpha + s
    post_b = beta + (n - s)
    posterior_mean = post_a / (post_a + post_b)

    rng = np.random.default_rng(seed)
    theta = rng.beta(post_a, post_b, size=(draws, k))
    summary = rank_draws(theta, higher_is_better=higher_is_better)
    median, low, high = summary.median_rank, summary.rank_low, summary.rank_high
    p_last, p_bottom3 = summary.p_last, summary.p_bottom3

    has_data = n > 0
    raw_rank = np.full(k, np.nan)
    if has_data.any():
        raw_rank[has_data] = _raw_ranks(s[has_data] / n[has_data], higher_is_better)

    return [
        RankResult(
            index=i,
            successes=_number(s[i]),
            trials=_number(n[i]),
            raw_rate=float(s[i] / n[i]) if has_data[i] else None,
            raw_rank=float(raw_rank[i]) if has_data[i] else None,
            posterior_mean=float(posterior_mean[i]),
            median_rank=int(median[i]),
            rank_low=int(low[i]),
            rank_high=int(high[i]),
            p_last=float(p_last[i]),
            p_bottom3=float(p_bottom3[i]),
        )
        for i in range(k)
    ]


# --- Officer early warning: Bernoulli CUSUM ------------------------------------------------


def _cusum_weights(p0: float, odds_ratio: float) -> tuple[float, float]:
    """(weight of an event, drift subtracted every step)."""
    _check_rate("p0", p0, open_interval=True)
    if not (math.isfinite(odds_ratio) and odds_ratio > 1.0):
        raise ValueError("odds_ratio must be greater than 1")
    return math.log(odds_ratio), math.log(1.0 - p0 + odds_ratio * p0)


def cusum_bernoulli(outcomes: Sequence[int], *, p0: float, odds_ratio: float = 2.0) -> list[float]:
    """The Bernoulli CUSUM path, one value per outcome (1 = event, 0 = none).

    ``S_t = max(0, S_{t-1} + y_t·ln R - ln(1 - p0 + R·p0))``, ``S_0 = 0``, where ``p0`` is
    the in-control event rate and ``R`` the odds ratio the chart is tuned to detect.
    """
    event_weight, drift = _cusum_weights(p0, odds_ratio)
    path: list[float] = []
    level = 0.0
    for y in outcomes:
        if y not in (0, 1):
            raise ValueError(f"outcomes must be 0 or 1, got {y!r}")
        level = max(0.0, level + y * event_weight - drift)
        path.append(level)
    return path


def _level_exceeded_by_share(peaks: np.ndarray, share: float) -> float:
    """A level h that at most ``share`` of the simulated peaks reach (peak >= h).

    Peaks sit on a lattice (sums of the two weights), so h is put halfway between the
    lattice values around the quantile, away from floating-point ties.
    """
    ordered = np.sort(peaks)[::-1]
    allowed = math.floor(share * len(ordered))
    boundary = float(ordered[min(allowed, len(ordered) - 1)])
    above = ordered[ordered > boundary + 1e-9]
    if len(above) == 0:
        return boundary + 1e-9
    return (boundary + float(above.min())) / 2.0


def cusum_threshold(
    *,
    p0: float,
    n: int,
    units: int,
    false_alarm_rate: float = 0.05,
    odds_ratio: float = 2.0,
    sims: int = 2000,
    seed: int = 0,
) -> float:
    """Alarm threshold h for officers each followed over ``n`` outcomes.

    ``sims`` in-control sequences of length ``n`` at rate ``p0`` are simulated and the
    maximum of each CUSUM path kept. The chance that a single officer's path ever reaches h
    is held at ``false_alarm_rate / units`` (Bonferroni), so that across ``units`` officers
    the chance of any false alarm within ``n`` outcomes is at most ``false_alarm_rate``.

    When that tail is too rare for ``sims`` sequences to show (fewer than about ten beyond
    it), h is read at the rarest tail the simulation can show, ``10 / sims``, and extended
    with the CUSUM's exponential tail: the weights are log-likelihood ratios, so the chance
    of reaching h falls like ``exp(-h)`` (Ville's inequality; Siegmund 1985), and reaching
    a tail ``c`` times rarer takes ``ln c`` more. Over short horizons the true tail falls
    faster, so this errs on the side of fewer alarms. h never exceeds ``ln(n·units/rate)``,
    which bounds the false-alarm rate exactly, and is at least ``ln R``, so one event alone
    never alarms. Alarm when ``S >= h``.
    """
    event_weight, drift = _cusum_weights(p0, odds_ratio)
    if n < 1 or units < 1 or sims < 1:
        raise ValueError("n, units and sims must be at least 1")
    if not 0.0 < false_alarm_rate < 1.0:
        raise ValueError("false_alarm_rate must be in (0, 1)")

    # One step at a time over all sequences; the random stream is drawn step by step, so a
    # longer horizon extends the same sequences and h never falls as n grows.
    rng = np.random.default_rng(seed)
    level = np.zeros(sims)
    peaks = np.zeros(sims)
    for _ in range(n):
        level += (rng.random(sims) < p0) * event_weight
        level -= drift
        np.maximum(level, 0.0, out=level)
        np.maximum(peaks, level, out=peaks)

    tail = false_alarm_rate / units
    readable = _TAIL_EXCEEDANCES / sims
    if tail >= readable:
        h = _level_exceeded_by_share(peaks, tail)
    else:
        h = _level_exceeded_by_share(peaks, readable) + math.log(readable / tail)
    h = min(h, math.log(n * units / false_alarm_rate))
    return max(h, event_weight)


def cusum_colour(s: float, h: float) -> str:
    """Traffic light for a CUSUM value: "red" at h, "orange" from h/2, else "green"."""
    if s >= h:
        return "red"
    if s >= h / 2:
        return "orange"
    return "green"


# --- Composite scores ----------------------------------------------------------------------


def standardise(values: Sequence[float]) -> list[float]:
    """z-scores with the population standard deviation; all-equal values give zeros."""
    x = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite")
    if len(x) == 0 or np.ptp(x) == 0:
        return [0.0] * len(x)
    return ((x - x.mean()) / x.std()).tolist()

"""Composite scores of the annual assessment (年度综合考评) and the accountability gate
(DOMAIN.md capability 2, "Statistics we use", "Composite scores").

Pure functions, no models: the assessment and accountability apps call them.

Each indicator is put on the z scale within the peer group before weighting; otherwise an
indicator with a wide spread between units (a clearance rate running from 20% to 80%)
decides the ranking while one with a narrow spread (satisfaction between 85% and 90%)
barely moves it, whatever the nominal weights say: a "51% public opinion" weight may carry
4% of the real influence. The effective share of an indicator is its share of the
composite's variance across the peer group, ``w_k·cov(z_k, C) / var(C)``; the shares add to 1
(the covariance decomposition of a sum; it is the same decomposition as in risk
attribution). The composite's uncertainty comes from simulation: draws from each unit's
posterior for every indicator, standardised with the point mean and sd, combined and ranked
(Goldstein & Spiegelhalter 1996, JRSS A 159:385).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.stats import rankdata

from minyi.core import stats

PUBLIC = "public"

# Accountability gate (issue 14): marked last only when the data make it probable.
GATE_P_BOTTOM3 = 0.8
GATE_Z = 3.09  # one-sided P(Z < -3.09) = 0.001 under the null
GATE_MIN_N_EFF = 300.0
# Below this many ranked peers "bottom 3" is too large a share of the group for the P arm
# (3 of 8 is 37%): under the null, with 8 units, 3% of units reach P(bottom 3) >= 0.8;
# with 20, 0.03% (docs/statistics.md). Applied only when the caller passes ``peers``.
GATE_MIN_PEERS_FOR_P = 20


@dataclass(frozen=True)
class IndicatorInput:
    """One indicator of a rule over one peer group's units (same unit order everywhere).

    ``successes``/``trials`` per unit: effective successes and n_eff for a poll indicator
    (``rate·n_eff``, ``n_eff``), numerator and denominator for a business figure; a trial
    count of 0 means missing. Poll indicators (``public=True``) get the peer group's
    empirical-Bayes prior in the simulation, business figures the Jeffreys prior; set
    ``empirical_bayes`` to choose otherwise.
    """

    code: str
    weight: float
    higher_is_better: bool
    public: bool
    successes: Sequence[float]
    trials: Sequence[float]
    empirical_bayes: bool | None = None


@dataclass(frozen=True)
class UnitComposite:
    """A unit's composite (weighted sum of its indicators' z-scores within the peer group).

    ``low``/``high``: 95% interval of the simulated composite; ``raw_rank``: rank of the
    point composite among the eligible units (1 = best, ties share the better rank), to be
    shown only beside the rank interval; ``median_rank``, ``rank_low``/``rank_high`` (90%),
    ``p_last``, ``p_bottom3`` from the simulated ranks. All None for a unit not eligible.
    ``z``: the unit's z per indicator code (oriented so that positive is better), None where
    the indicator is missing; given for every unit with data, eligible or not, relative to
    the eligible units' mean and sd.
    """

    composite: float | None
    low: float | None
    high: float | None
    raw_rank: int | None
    median_rank: float | None
    rank_low: int | None
    rank_high: int | None
    p_last: float | None
    p_bottom3: float | None
    z: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CompositeResult:
    """Per unit (input order), and per indicator code plus ``"public"``: the nominal weight
    and the effective share of the composite's variance across the eligible units."""

    units: list[UnitComposite]
    nominal: dict[str, float]
    effective: dict[str, float]


def _validate(indicators: Sequence[IndicatorInput], units: int) -> None:
    if not indicators:
        raise ValueError("a composite needs at least one indicator")
    codes = [ind.code for ind in indicators]
    if len(set(codes)) != len(codes) or PUBLIC in codes:
        raise ValueError(f"indicator codes must be unique and not {PUBLIC!r}: {codes}")
    for ind in indicators:
        if not (math.isfinite(ind.weight) and ind.weight >= 0):
            raise ValueError(f"indicator {ind.code!r}: weight must be non-negative")
        if len(ind.successes) != units or len(ind.trials) != units:
            raise ValueError(f"indicator {ind.code!r}: one value per unit is needed ({units})")
        s = np.asarray(ind.successes, dtype=float)
        n = np.asarray(ind.trials, dtype=float)
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(n))):
            raise ValueError(f"indicator {ind.code!r}: counts must be finite")
        if np.any(n < 0) or np.any(s < 0) or np.any(s > n * (1 + 1e-12)):
            raise ValueError(f"indicator {ind.code!r}: need 0 <= successes <= trials")
    if sum(ind.weight for ind in indicators) <= 0:
        raise ValueError("the weights must not all be 0")


def _effective_shares(
    indicators: Sequence[IndicatorInput], z: np.ndarray, composite: np.ndarray
) -> dict[str, float]:
    """``w_k·cov(z_k, C) / var(C)`` over the eligible units (z: indicators x units)."""
    weights = np.array([ind.weight for ind in indicators])
    centred = composite - composite.mean()
    var_c = float(np.mean(centred**2))
    if var_c <= 1e-15 * max(1.0, float(np.mean(composite**2))):
        # No spread at all: nothing to attribute; report the nominal shares.
        shares = weights / weights.sum()
    else:
        cov = (z - z.mean(axis=1, keepdims=True)) @ centred / len(composite)
        shares = weights * cov / var_c
    out = {ind.code: float(x) for ind, x in zip(indicators, shares, strict=True)}
    out[PUBLIC] = float(sum(x for ind, x in zip(indicators, shares, strict=True) if ind.public))
    return out


def composite(
    indicators: Sequence[IndicatorInput],
    *,
    eligible: Sequence[bool],
    draws: int = 10_000,
    seed: int = 20260101,
    standardise: bool = True,
) -> CompositeResult:
    """Composite scores, intervals and ranks for one peer group under one rule.

    Per indicator, over the eligible units with data: the point rates' mean and population
    sd; z = (rate - mean) / sd, with the sign flipped when lower is better (an indicator
    with no spread, or fewer than two such units, gives z = 0). The composite is
    ``Σ w_k·z_k``; an indicator missing for a unit (0 trials) counts as the peer mean (z = 0)
    in the point and in every draw. The weights are used as given (they need not add to 1).

    Simulation: ``draws`` joint draws per unit and indicator from Beta(α + s, β + n - s),
    with (α, β) the peer group's beta-binomial prior fitted by maximum likelihood over the
    eligible units (poll indicators) or (1/2, 1/2) (business figures), standardised with the
    point mean and sd, combined with the weights and ranked among the eligible units:
    the 95% interval of the composite (2.5th and 97.5th percentiles; for a poll indicator
    the draws are shrunk towards the peer mean, so a point at the edge of the group may sit
    near the edge of its interval), median rank, 90% rank interval, P(last), P(bottom 3).
    Units not eligible, and every unit when fewer than two are eligible, get no composite
    and no rank. Deterministic for a given ``seed``.

    ``standardise=False`` combines the centred raw rates instead (sd taken as 1): the naive
    composite, for showing beside the real one how little a narrow-spread indicator weighs.
    """
    elig = np.asarray(eligible, dtype=bool).reshape(-1)
    units = len(elig)
    _validate(indicators, units)
    if draws < 1:
        raise ValueError("draws must be at least 1")
    nominal = {ind.code: float(ind.weight) for ind in indicators}
    nominal[PUBLIC] = float(sum(ind.weight for ind in indicators if ind.public))

    members = np.flatnonzero(elig)
    m = len(members)
    z_all = np.full((len(indicators), units), np.nan)
    mean = np.zeros(len(indicators))
    sd = np.zeros(len(indicators))
    sign = np.array([1.0 if ind.higher_is_better else -1.0 for ind in indicators])
    for k, ind in enumerate(indicators):
        s = np.asarray(ind.successes, dtype=float)
        n = np.asarray(ind.trials, dtype=float)
        has = n > 0
        rate = np.divide(s, n, out=np.full(units, np.nan), where=has)
        peers = rate[elig & has]
        if len(peers) >= 2 and np.ptp(peers) > 0:
            mean[k], sd[k] = peers.mean(), (peers.std() if standardise else 1.0)
            z_all[k, has] = sign[k] * (rate[has] - mean[k]) / sd[k]
        else:
            mean[k] = peers.mean() if len(peers) else 0.0
            z_all[k, has] = 0.0

    if m < 2:
        # Nothing to compare with: no composite, and the effective shares are undefined
        # (reported as the nominal shares).
        return CompositeResult(
            units=[_unranked(indicators, z_all[:, u]) for u in range(units)],
            nominal=nominal,
            effective=_effective_shares(indicators, np.zeros((len(indicators), 1)), np.zeros(1)),
        )

    weights = np.array([ind.weight for ind in indicators])
    z_members = np.nan_to_num(z_all[:, members], nan=0.0)
    point = weights @ z_members
    effective = _effective_shares(indicators, z_members, point)

    rng = np.random.default_rng(seed)
    simulated = np.zeros((draws, m))
    for k, ind in enumerate(indicators):
        if sd[k] == 0 or weights[k] == 0:
            continue
        s = np.asarray(ind.successes, dtype=float)[members]
        n = np.asarray(ind.trials, dtype=float)[members]
        has = n > 0
        shrink = ind.public if ind.empirical_bayes is None else ind.empirical_bayes
        alpha, beta = stats.beta_binomial_prior(s[has], n[has]) if shrink else (0.5, 0.5)
        theta = rng.beta(alpha + s[has], beta + n[has] - s[has], size=(draws, int(has.sum())))
        simulated[:, has] += (weights[k] * sign[k] / sd[k]) * (theta - mean[k])

    low, high = np.percentile(simulated, [2.5, 97.5], axis=0)
    # Ties (units no indicator tells apart) are broken at random, not by input order.
    summary = stats.rank_draws(simulated, rng=rng)
    raw_rank = rankdata(-point, method="min").astype(int)

    out: list[UnitComposite] = []
    position = {int(u): j for j, u in enumerate(members)}
    for u in range(units):
        j = position.get(u)
        if j is None:
            out.append(_unranked(indicators, z_all[:, u]))
            continue
        unit = UnitComposite(
            composite=float(point[j]),
            low=float(low[j]),
            high=float(high[j]),
            raw_rank=int(raw_rank[j]),
            median_rank=float(summary.median_rank[j]),
            rank_low=int(summary.rank_low[j]),
            rank_high=int(summary.rank_high[j]),
            p_last=float(summary.p_last[j]),
            p_bottom3=float(summary.p_bottom3[j]),
        )
        out.append(replace(unit, z=_z_by_code(indicators, z_all[:, u])))
    return CompositeResult(units=out, nominal=nominal, effective=effective)


def _z_by_code(indicators: Sequence[IndicatorInput], z: np.ndarray) -> dict[str, float | None]:
    return {
        ind.code: (None if math.isnan(v) else float(v))
        for ind, v in zip(indicators, z.tolist(), strict=True)
    }


def _unranked(indicators: Sequence[IndicatorInput], z: np.ndarray) -> UnitComposite:
    return UnitComposite(
        None, None, None, None, None, None, None, None, None, z=_z_by_code(indicators, z)
    )


def accountability_gate(
    *,
    p_bottom3: float | None,
    z_adjusted: float | None,
    n_eff: float | None,
    p_gate: float = GATE_P_BOTTOM3,
    z_gate: float = GATE_Z,
    min_n_eff: float = GATE_MIN_N_EFF,
    peers: int | None = None,
    min_peers_for_p: int = GATE_MIN_PEERS_FOR_P,
) -> bool:
    """Whether a unit is marked last in an assessment (docs/statistics.md, "The gate").

    Marked only when the composite's P(bottom 3) >= ``p_gate`` or the funnel z (with
    overdispersion) of its pooled weighted 满意度 is below ``-z_gate``, and public opinion's
    effective sample (pooled over the waves, the smallest across the rule's poll
    indicators) is at least ``min_n_eff``. A missing figure never marks a unit.

    ``peers`` (optional, the number of ranked units in the peer group): when given and below
    ``min_peers_for_p``, the P(bottom 3) arm is not used, only the funnel arm (see
    docs/statistics.md, "Small peer groups"). Without it the gate is exactly issue 14's.
    """
    if n_eff is None or not n_eff >= min_n_eff:
        return False
    small_group = peers is not None and peers < min_peers_for_p
    probable = not small_group and p_bottom3 is not None and p_bottom3 >= p_gate
    extreme = z_adjusted is not None and z_adjusted < -z_gate
    return probable or extreme

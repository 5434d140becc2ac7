"""Emerging topics (热点, capability 7, insight): a reason tag or a topic term whose count of
texts in the last WINDOW_WEEKS weeks rises above its own level in the BASELINE_WEEKS weeks
before, per unit or per city. Pure statistics on weekly counts: the caller reads the counts
(the TopicWeek rollup) and shows the texts behind a flag.

The rule (RULE_VERSION, printed beside every flag):

* **Exact test of two Poisson rates** (the conditional "C-test", Przyborowski & Wilenski
  1940): if the rate did not change, then given the n = current + baseline texts of both
  periods, the window's share is Binomial(n, W / (W + B)). The one-sided p-value is
  P(X >= current). It is exact and conservative (a flag at level alpha happens at most a
  fraction alpha of the time under any constant rate), and it needs no large counts: a
  brand-new topic (zero baseline) is handled by the same formula.
* **Overdispersion guard**: real weekly counts wander more than Poisson (holidays, a
  campaign, a road closure). The Pearson dispersion of the baseline weeks,
  phi = sum((x - m)^2 / m) / (B - 1), is tested against chi-square with B - 1 degrees of
  freedom; if it is significant at 5%, a negative-binomial p-value is computed too, with mean
  W*m and variance phi' * W*m, where phi' = phi * (1 + W/B) also carries the error of the
  estimated mean, and the larger of the two p-values is kept (method "negbin"). The guard
  can only remove flags, so the Poisson guarantee above still holds.
* **Minimum count and minimum ratio**: a flag needs at least MIN_COUNT texts in the window
  and a count at least MIN_RATIO times the expected one (or a zero baseline). The count keeps
  three stray texts from being a "topic"; the ratio keeps a city-wide count of thousands from
  flagging a statistically real but unremarkable 10% drift.

ALPHA_TERM is ten times stricter than ALPHA_TAG: there are about ten reason tags but
thousands of terms per unit, and every test is a chance of a false flag.

What it catches (tests/test_emerging.py, simulated): a doubling from 15 to 30 texts a week
(30 expected in the window) 96% of the time at ALPHA_TAG and 85% at ALPHA_TERM; a doubling
from 7.5 to 15 a week (30 texts in the window, 15 expected) 71% of the time at ALPHA_TAG,
where even a test that knew the true rate could reach only 79% at level 0.01 (88% at 0.05).
Under a constant rate it flags at most alpha of the time (exactly, not only by simulation);
when the weekly counts wander three times as much as Poisson it flags at most 3.1 × alpha
(tags) and 13.5 × alpha (terms), against 6–8 × and 30–35 × for the Poisson test alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _
from scipy import stats

# Bump when any constant below or the test changes: a flag says which rule produced it.
RULE_VERSION = "emerging-v1"
WINDOW_WEEKS = 2
BASELINE_WEEKS = 12
ALPHA_TAG = 0.01
ALPHA_TERM = 0.001
# Four texts a week: the least a unit leader would call a topic. It costs no power where
# power matters (a doubling from 7.5 to 15 texts a week needs about 26 texts in the window
# for the test anyway) and still lets a brand-new term with 10 texts through.
MIN_COUNT = 8
MIN_RATIO = 1.5
# Significance of the chi-square dispersion test that switches the negative-binomial check on.
DISPERSION_ALPHA = 0.05


@dataclass(frozen=True)
class Rise:
    """One key's window against its baseline, and whether the rule flags it."""

    current: int  # texts in the window
    baseline: int  # texts in all the baseline weeks together
    expected: float  # baseline * W / B: what the window would hold at the baseline's rate
    ratio: float | None  # current / expected; None when nothing was expected
    p_value: float  # one-sided: the chance of `current` or more if the rate did not change
    method: str  # "poisson" or "negbin" (the baseline weeks were overdispersed)
    dispersion: float  # Pearson dispersion of the baseline weeks (1 = Poisson)
    flagged: bool
    alpha: float
    window_weeks: int = WINDOW_WEEKS
    baseline_weeks: int = BASELINE_WEEKS
    min_count: int = MIN_COUNT
    rule_version: str = RULE_VERSION


def rise_arrays(
    currents,
    baselines,
    *,
    alpha: float,
    min_count: int = MIN_COUNT,
    window_weeks: int = WINDOW_WEEKS,
    overdispersion: bool = True,
) -> dict[str, np.ndarray]:
    """The rule over k keys at once, as arrays of length k (no Python loop over keys).

    `currents`: texts per key in the window (k); `baselines`: texts per key and baseline
    week (k × B), oldest first or not (the order does not matter). Returns current,
    baseline, expected, ratio (nan when nothing was expected), p_value, negbin (bool),
    dispersion and flagged. `overdispersion=False` leaves the guard out (the Poisson test
    alone, for comparison in tests).
    """
    current = np.asarray(currents, dtype=np.int64).reshape(-1)
    weeks = np.asarray(baselines, dtype=np.int64)
    if weeks.ndim != 2 or weeks.shape[0] != current.shape[0]:
        raise ValueError("baselines must be k × B for k currents")
    n_weeks = weeks.shape[1]
    if n_weeks < 1 or window_weeks < 1:
        raise ValueError("at least one baseline week and one window week are needed")
    if (current < 0).any() or (weeks < 0).any():
        raise ValueError("counts cannot be negative")

    baseline = weeks.sum(axis=1)
    mean = baseline / n_weeks
    expected = mean * window_weeks
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, current / expected, np.nan)

    # Exact conditional test: current | total ~ Binomial(total, W / (W + B)).
    share = window_weeks / (window_weeks + n_weeks)
    p_value = stats.binom.sf(current - 1, current + baseline, share)

    # Overdispersion guard on the baseline weeks.
    dispersion = np.ones(current.shape[0])
    negbin = np.zeros(current.shape[0], dtype=bool)
    if n_weeks >= 2:
        seen = mean > 0
        squares = ((weeks[seen] - mean[seen, None]) ** 2).sum(axis=1)
        dispersion[seen] = squares / mean[seen] / (n_weeks - 1)
        chi2_p = stats.chi2.sf((n_weeks - 1) * dispersion, n_weeks - 1)
        negbin = seen & (chi2_p < DISPERSION_ALPHA) & (dispersion > 1) & overdispersion
        if overdispersion and negbin.any():
            inflated = dispersion[negbin] * (1 + window_weeks / n_weeks)
            mu = expected[negbin]
            p_negbin = stats.nbinom.sf(current[negbin] - 1, mu / (inflated - 1), 1 / inflated)
            p_value[negbin] = np.maximum(p_value[negbin], p_negbin)
    p_value = np.clip(p_value, 0.0, 1.0)

    big_enough = np.where(expected > 0, current >= MIN_RATIO * expected, True)
    flagged = (p_value <= alpha) & (current >= min_count) & (current > expected) & big_enough
    return {
        "current": current,
        "baseline": baseline,
        "expected": expected,
        "ratio": ratio,
        "p_value": p_value,
        "negbin": negbin,
        "dispersion": dispersion,
        "flagged": flagged,
    }


def rise_tests(
    currents,
    baselines,
    *,
    alpha: float,
    min_count: int = MIN_COUNT,
    window_weeks: int = WINDOW_WEEKS,
) -> list[Rise]:
    """rise_arrays as one Rise per key, in the order given."""
    a = rise_arrays(
        currents, baselines, alpha=alpha, min_count=min_count, window_weeks=window_weeks
    )
    n_weeks = np.asarray(baselines).shape[1]
    return [
        Rise(
            current=int(c),
            baseline=int(b),
            expected=float(e),
            ratio=None if np.isnan(r) else float(r),
            p_value=float(p),
            method="negbin" if nb else "poisson",
            dispersion=float(d),
            flagged=bool(f),
            alpha=alpha,
            window_weeks=window_weeks,
            baseline_weeks=n_weeks,
            min_count=min_count,
        )
        for c, b, e, r, p, nb, d, f in zip(
            a["current"].tolist(),
            a["baseline"].tolist(),
            a["expected"].tolist(),
            a["ratio"].tolist(),
            a["p_value"].tolist(),
            a["negbin"].tolist(),
            a["dispersion"].tolist(),
            a["flagged"].tolist(),
            strict=True,
        )
    ]


def rise_test(
    current: int,
    baseline_weeks: Sequence[int],
    *,
    alpha: float,
    min_count: int = MIN_COUNT,
    window_weeks: int = WINDOW_WEEKS,
) -> Rise:
    """The rule for one key: `current` texts in the window, `baseline_weeks` the texts in
    each week before it."""
    return rise_tests(
        [current],
        [list(baseline_weeks)],
        alpha=alpha,
        min_count=min_count,
        window_weeks=window_weeks,
    )[0]


# --- In a leader's words -------------------------------------------------------------------


def _chance(p: float) -> str:
    for bound, words in ((0.001, "0.1%"), (0.01, "1%"), (0.05, "5%")):
        if p < bound:
            return _("不到 %(bound)s") % {"bound": words}
    return _("约 %(percent)s%%") % {"percent": f"{p * 100:.0f}"}


def _weeks(n: int) -> str:
    return _("近两周") if n == 2 else _("近 %(n)s 周") % {"n": n}


def plain_words(rise: Rise) -> str:
    """One sentence for a leader: what the figure is and how sure the rule is."""
    window = _weeks(rise.window_weeks)
    if rise.current == 0:
        return _("%(window)s没有这类文本。") % {"window": window}
    if rise.ratio is None:
        sentence = _("%(window)s %(current)s 条，此前 %(weeks)s 周一条也没有") % {
            "window": window,
            "current": rise.current,
            "weeks": rise.baseline_weeks,
        }
    else:
        sentence = _(
            "%(window)s %(current)s 条，按此前 %(weeks)s 周的水平预计 %(expected)s 条，"
            "是平时的 %(ratio)s 倍"
        ) % {
            "window": window,
            "current": rise.current,
            "weeks": rise.baseline_weeks,
            "expected": f"{rise.expected:.1f}",
            "ratio": f"{rise.ratio:.1f}",
        }
    if rise.current < rise.min_count:
        return sentence + _("；条数太少，还不足以判断是否是热点。")
    if rise.current <= rise.expected:
        return sentence + _("，没有上升。")
    steady = _("此前每周的条数本身起伏较大，已按这种起伏计算；") if rise.method == "negbin" else ""
    chance = _("若实际情况并无变化，仅凭偶然出现这么多或更多的概率%(chance)s。") % {
        "chance": _chance(rise.p_value)
    }
    if rise.flagged:
        verdict = ""
    elif rise.p_value > rise.alpha:
        verdict = _("这样的差别可能只是偶然，不算热点。")
    else:
        verdict = _("上升确实存在，但不到平时的 %(ratio)s 倍，不算热点。") % {
            "ratio": f"{MIN_RATIO:g}"
        }
    return sentence + _("；") + steady + chance + verdict

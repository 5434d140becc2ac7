"""The data of an assessment page's charts and of its one-sentence reading, per peer group,
built from the rows the viewer may see (`selectors.GroupRanking`).

- Caterpillar plot (名次区间图): each ranked unit's median rank with its 90% rank interval,
  best at the top; units marked last in red.
- Funnel plot (漏斗图): pooled 满意度 against n_eff, with the 95% and 99.8% limits around the
  peer group's rate, widened by the overdispersion τ² (`core.stats.funnel_limits`).
"""

from django.utils.translation import gettext as _

from minyi.assessment.selectors import GroupRanking
from minyi.assessment.services import indicator_label
from minyi.core import stats
from minyi.core.composite import PUBLIC
from minyi.polls.models import Indicator

FUNNEL_STEPS = 40
WIDE_RANK_SPAN = 5  # a rank interval wider than this many places is "not to be taken literally"
SHARE_MARGIN = 0.05


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def caterpillar(group: GroupRanking) -> dict:
    rows = sorted((r for r in group.rows if r.ranked), key=lambda r: r.median_rank)
    return {
        "size": group.ranked,
        "units": [
            {
                "name": r.unit.display_name,
                "median": r.median_rank,
                "low": r.rank_low,
                "high": r.rank_high,
                "marked": r.marked_last,
            }
            for r in rows
        ],
        "labels": {
            "x": _("名次（1 为最好）"),
            "interval": _("90% 名次区间"),
            "median": _("名次中位数"),
            "marked": _("认定末位"),
        },
    }


def funnel(group: GroupRanking) -> dict | None:
    data = group.shares.get("funnel") or {}
    target, tau2 = data.get("target"), data.get("tau2")
    points = data.get("points") or {}
    shown = [(r, points.get(str(r.unit_id))) for r in group.rows]
    shown = [(r, p) for r, p in shown if p and p[1] is not None]
    if target is None or not shown:
        return None
    sizes = [n for n, _rate, _ranked in points.values() if n > 0]
    low_n = max(1.0, min(sizes) * 0.8)
    high_n = max(sizes) * 1.15
    limits = []
    for i in range(FUNNEL_STEPS + 1):
        n = low_n + (high_n - low_n) * i / FUNNEL_STEPS
        lo95, hi95 = stats.funnel_limits(n, target, tau2 or 0.0, stats.Z_ALERT)
        lo998, hi998 = stats.funnel_limits(n, target, tau2 or 0.0, stats.Z_ALARM)
        limits.append([round(n, 1), _pct(lo95), _pct(hi95), _pct(lo998), _pct(hi998)])
    return {
        "points": [[p[0], _pct(p[1]), r.unit.display_name] for r, p in shown],
        "limits": limits,
        "target": _pct(target),
        "labels": {
            "x": _("有效样本量 n_eff"),
            "y": _("满意度（加权，%）"),
            "units": _("单位"),
            "alert": _("95% 控制限"),
            "alarm": _("99.8% 控制限"),
            "target": _("同类组平均"),
        },
    }


def group_charts(group: GroupRanking) -> dict:
    return {"caterpillar": caterpillar(group), "funnel": funnel(group)}


def share_summary(group: GroupRanking, *, draws: int) -> dict:
    """Public opinion's nominal weight beside its effective share of the composite's
    variance, and what that means in a sentence a unit's leader would use."""
    nominal = (group.shares.get("nominal") or {}).get(PUBLIC)
    effective = (group.shares.get("effective") or {}).get(PUBLIC)
    if nominal is None or effective is None:
        return {}
    values = {"nom": f"{nominal * 100:.0f}%", "eff": f"{effective * 100:.0f}%"}
    if effective < nominal - SHARE_MARGIN:
        meaning = _(
            "群众评价的实际分量（%(eff)s）低于规定的 %(nom)s：本组各单位的民意得分彼此接近，"
            "名次主要由业务指标拉开。"
        )
    elif effective > nominal + SHARE_MARGIN:
        meaning = _(
            "群众评价的实际分量（%(eff)s）高于规定的 %(nom)s：本组各单位的民意得分差别较大，"
            "名次主要由群众评价决定。"
        )
    else:
        meaning = _(
            "群众评价的实际分量（%(eff)s）与规定的 %(nom)s 相当：名次如实反映了群众的评价。"
        )
    wide = sum(
        1
        for r in group.rows
        if r.ranked and r.rank_high is not None and r.rank_high - r.rank_low > WIDE_RANK_SPAN
    )
    certainty = _(
        "这些数字由 %(draws)s 次模拟得出；名次区间是 90%% 区间，本页显示的 %(shown)d 个"
        "单位中有 %(wide)d 个的区间跨 %(span)d 位以上，这些单位前后几名的差别不能当真。"
        "只有有效样本足够、且末位的可能性很大时才认定末位：同类单位 20 个以上时末三位概率达到门槛，"
        "或满意度低于漏斗图 99.8%% 控制限（同类单位较少时只看后者）。"
    ) % {
        "draws": f"{draws:,}",
        "shown": sum(1 for r in group.rows if r.ranked),
        "wide": wide,
        "span": WIDE_RANK_SPAN,
    }
    return {
        "headline": _("民意名义权重 %(nom)s，实际影响 %(eff)s") % values,
        "meaning": meaning % values,
        "certainty": certainty,
        "nominal": nominal,
        "effective": effective,
    }


def indicator_table(group: GroupRanking) -> dict:
    """Each visible unit's figure per indicator of the rule, in the rule's order (poll
    indicators first): value with its 95% interval, n_eff, z within the peer group."""
    codes = [c for c in (group.shares.get("nominal") or {}) if c != PUBLIC]
    codes.sort(key=lambda c: (c not in Indicator.values, c))
    rows = []
    for r in group.rows:
        cells = [r.indicators.get(code) or {} for code in codes]
        rows.append({"unit": r.unit, "cells": cells})
    return {
        "headers": [
            {"code": c, "label": indicator_label(c), "weight": group.shares["nominal"][c]}
            for c in codes
        ],
        "rows": rows,
    }

"""Ranking among peers (同类单位排名, DOMAIN.md "Statistics we use"): each unit's raw rate with
its Wilson interval, the empirical-Bayes shrunken rate, median rank with its 90% rank
interval, P(last), the funnel-plot flag and the mix-adjusted observed/expected ratio. Peers
are the units of the same kind under the user's root.
"""

from collections import defaultdict
from functools import lru_cache

from django.utils.translation import gettext as _

from minyi.core import stats
from minyi.dashboards import conf
from minyi.dashboards.cells import Cell, Table, count, interval, number, pct, text
from minyi.dashboards.figures.satisfaction import (
    Counts,
    Cube,
    _mix,
    _reference_rates,
    satisfaction_cube,
)
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.periods import Period
from minyi.dashboards.rates import rate
from minyi.dashboards.scope import UnitIndex
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit

# Fewer units with enough answers than this: nobody is ranked.
MIN_RANKED = 2


@lru_cache(maxsize=256)
def _rank_shrunk(successes: tuple, trials: tuple, draws: int) -> tuple:
    """stats.rank_shrunk is deterministic (fixed seed) and costs ~20 ms for fifty units;
    the same peer group and period is asked for again and again between two refreshes."""
    return tuple(stats.rank_shrunk(successes, trials, draws=draws))


def unit_ranking_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    kind: str = "",
    index: UnitIndex | None = None,
    cube: Cube | None = None,
) -> dict:
    """The units of one kind in `unit`'s subtree, ranked among all units of that kind under
    the user's root (their peers): raw rate with Wilson interval, shrunken rate, median rank
    with 90% rank interval, P(last), funnel flag and mix-adjusted O/E. Units with fewer than
    `conf.min_rank_sample()` answers are listed but not ranked."""
    index = index or UnitIndex(user)
    cube = cube or satisfaction_cube(user, period=period, index=index)
    kinds = index.kinds_below(unit) or [unit.kind]
    kind = kind if kind in kinds else kinds[0]
    peers = [u for u in index.units if u.kind == kind and u.is_active]
    if unit.kind == kind and unit not in peers:
        peers.append(unit)
    peer_of = {u.path: u for u in peers}

    def peer_for(unit_id):
        other = index.by_id.get(unit_id)
        if other is None:
            return None
        for depth in range(other.depth, 0, -1):
            found = peer_of.get(other.path[: OrgUnit.steplen * depth])
            if found is not None:
                return found
        return None

    per_peer: dict[int, dict[int, Counts]] = {u.pk: defaultdict(Counts) for u in peers}
    for (unit_id, type_id), c in cube.cells.items():
        if business_type is not None and type_id != business_type:
            continue
        peer = peer_for(unit_id)
        if peer is not None:
            per_peer[peer.pk][type_id] += c
    ref_rates, overall = _reference_rates(cube)
    if business_type is not None:
        overall = ref_rates.get(business_type)

    minimum = conf.min_rank_sample()
    totals = {}
    for peer in peers:
        t = Counts()
        for c in per_peer[peer.pk].values():
            t += c
        totals[peer.pk] = t
    eligible = [u for u in peers if totals[u.pk].replies >= minimum]
    ranks, funnel_points, funnel_result = {}, {}, None
    if len(eligible) < MIN_RANKED:
        eligible = []  # one unit alone is neither first nor last of anything
    if eligible:
        s = [totals[u.pk].satisfied for u in eligible]
        n = [totals[u.pk].replies for u in eligible]
        for u, r in zip(eligible, _rank_shrunk(tuple(s), tuple(n), conf.rank_draws()), strict=True):
            ranks[u.pk] = r
        funnel_result = stats.funnel(s, n)
        funnel_points = dict(zip([u.pk for u in eligible], funnel_result.points, strict=True))

    rows = []
    for peer in peers:
        if not peer.path.startswith(unit.path):
            continue
        t = totals[peer.pk]
        r = ranks.get(peer.pk)
        point = funnel_points.get(peer.pk)
        rows.append(
            {
                "unit": peer,
                "sent": t.sent,
                **rate(t.satisfied, t.replies),
                "ranked": r is not None,
                "small_sample": t.replies < minimum,
                "shrunk": r.posterior_mean if r else None,
                "raw_rank": r.raw_rank if r else None,
                "median_rank": r.median_rank if r else None,
                "rank_low": r.rank_low if r else None,
                "rank_high": r.rank_high if r else None,
                "p_last": r.p_last if r else None,
                "p_bottom3": r.p_bottom3 if r else None,
                "probably_last": bool(r and r.p_last >= conf.probably_last()),
                "flag": point.flag if point else "",
                "z": point.z_adjusted if point else None,
                "mix": _mix(per_peer[peer.pk], ref_rates, overall)
                if business_type is None
                else None,
            }
        )
    rows.sort(
        key=lambda row: (
            not row["ranked"],
            row["median_rank"] or 0,
            -(row["shrunk"] or 0),
            row["unit"].path,
        )
    )
    return {
        "kind": kind,
        "kind_label": UnitKind(kind).label if kind in UnitKind.values else kind,
        "kinds": [(k, UnitKind(k).label if k in UnitKind.values else k) for k in kinds],
        "peers": len(peers),
        "ranked": len(eligible),
        "scope": index.root,
        "min_sample": minimum,
        "rows": rows,
        "target": funnel_result.target if funnel_result else None,
        "tau2": funnel_result.tau2 if funnel_result else None,
        "rule_version": stats.RULE_VERSION,
    }


def _unit_link(unit, base: DrillFilters, figure: str) -> str:
    return drill_url(base, figure=figure, unit=unit.pk)


def _ranking_table(fig: dict, base: DrillFilters) -> Table:
    headers = [
        _("单位"),
        _("参评"),
        _("满意率"),
        _("95%区间"),
        _("收缩估计"),
        _("排名（中位）"),
        _("90%排名区间"),
        _("末位概率"),
        _("同类比较"),
    ]
    with_mix = any(r["mix"] is not None for r in fig["rows"])
    if with_mix:
        headers += [_("实际/预期（业务结构）"), _("结构调整满意率")]
    table = Table("ranking", _("同类单位排名"), headers)
    flags = {"alarm": _("显著（99.8%）"), "alert": _("偏离（95%）")}
    for r in fig["rows"]:
        unit = r["unit"]
        if r["ranked"]:
            rank = Cell(f"{r['median_rank']} / {fig['ranked']}", r["median_rank"], num=True)
            spread = Cell(
                f"{r['rank_low']}–{r['rank_high']}", f"{r['rank_low']}–{r['rank_high']}", num=True
            )
            last = pct(r["p_last"], digits=0)
            if r["probably_last"]:
                last.cls = "error"
            flag = ""
            if r["flag"]:
                direction = _("偏低") if (r["z"] or 0) < 0 else _("偏高")
                flag = f"{direction}·{flags[r['flag']]}"
            cells = [
                rank,
                spread,
                last,
                text(flag, cls="error" if r["flag"] and (r["z"] or 0) < 0 else ""),
            ]
        else:
            reason = _("样本不足，不排名") if r["small_sample"] else _("同类单位不足，不排名")
            cells = [
                Cell(reason, reason, cls="muted"),
                text(""),
                text(""),
                text(""),
            ]
        row = [
            text(unit.name, href=_unit_link(unit, base, "satisfaction")),
            count(r["n"], href=_unit_link(unit, base, "satisfaction")),
            pct(r["rate"]),
            interval(r),
            pct(r["shrunk"]),
            *cells,
        ]
        if with_mix:
            mix = r["mix"] or {}
            row += [number(mix.get("ratio")), pct(mix.get("adjusted"))]
        table.rows.append(row)
    table.note = _(
        "在%(scope)s范围内与 %(peers)d 个%(kind)s比较；参评少于 %(min)d 的单位不排名。"
        "收缩估计与排名区间为经验贝叶斯（beta-二项）后验；同类比较为漏斗图（已校正过度离散）。"
        "规则版本 %(rule)s。"
    ) % {
        "scope": fig["scope"].name,
        "peers": fig["peers"],
        "kind": fig["kind_label"],
        "min": fig["min_sample"],
        "rule": fig["rule_version"],
    }
    return table

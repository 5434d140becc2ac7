"""Ranking among peers (同类单位排名, DOMAIN.md "Statistics we use", issue 14 item 8).

Peers. A unit is compared with its fixed peer group (`orgs.PeerGroup`, e.g. the city's 60
police stations together, the traffic brigades apart), whoever looks: every member's answers
count, members outside the viewer's subtree included, so a district leader and the city
supervisor see the same rank for the same unit. The rows shown stay those of the viewer's
subtree; a unit outside it lends its counts to the ranks and nothing else (no row, no name,
no figure of its own). A unit in no peer group falls back to the units of the same kind under
the viewer's root, and the page says so.

Order. Units are ordered by their business-type-adjusted rate (indirect standardisation,
DOMAIN.md step 8): expected = Σ over business types of the unit's answers × the peer group's
rate for that type; adjusted rate = observed / expected × the group's overall rate. A unit
whose answers fall on business types rated low everywhere (enforcement) is then not last for
its mix alone. Shrinkage, rank intervals, P(last) and the funnel are all computed on the
adjusted figure: the adjusted "successes" round(adjusted rate × n) with the unit's n are passed
to `stats.rank_shrunk` and `stats.funnel`. Summed over the group, expected equals observed,
so the group's target stays its pooled rate. With one business type selected the adjustment
is the identity. Both the raw and the adjusted rate are shown.

Units with fewer than `conf.min_rank_sample()` answers are listed but not ranked, and a group
with fewer than MIN_RANKED such units ranks nobody.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from operator import or_

from django.db.models import Q
from django.utils.translation import gettext as _

from minyi.core import stats
from minyi.core.periods import Period
from minyi.dashboards import conf
from minyi.dashboards.cells import Cell, Table, count, interval, number, pct, text
from minyi.dashboards.figures.satisfaction import (
    Counts,
    Cube,
    counts_cube,
    satisfaction_cube,
)
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.rates import rate
from minyi.dashboards.rollups import SATISFACTION
from minyi.dashboards.scope import UnitIndex
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit, PeerGroupMember

# Fewer units with enough answers than this: nobody is ranked.
MIN_RANKED = 2
FALLBACK = "fallback"


@lru_cache(maxsize=256)
def _rank_shrunk(successes: tuple, trials: tuple, draws: int) -> tuple:
    """stats.rank_shrunk is deterministic (fixed seed) and costs ~20 ms for fifty units;
    the same peer group and period is asked for again and again between two refreshes."""
    return tuple(stats.rank_shrunk(successes, trials, draws=draws))


@dataclass
class _Group:
    """One peer group as the ranking sees it: its members and their counts per type."""

    key: object  # the PeerGroup's id, or FALLBACK
    name: str
    members: list  # OrgUnit rows (only id, path, kind, is_active needed)
    counts: dict = field(default_factory=dict)  # member pk -> {type id: Counts}

    @property
    def fallback(self) -> bool:
        return self.key == FALLBACK


def adjusted_rates(counts_by_unit: dict[int, dict[int, Counts]]) -> dict[int, dict]:
    """Indirect standardisation within one peer group: per unit, observed and expected
    satisfied (expected from the group's own rate per business type), O/E, the adjusted rate
    O/E × the group's overall rate (at most 1), and the adjusted successes the ranking uses.
    Pure: counts in, figures out."""
    by_type: dict[int, Counts] = defaultdict(Counts)
    for per_type in counts_by_unit.values():
        for type_id, c in per_type.items():
            by_type[type_id] += c
    type_rates = {t: c.satisfied / c.replies for t, c in by_type.items() if c.replies}
    replies = sum(c.replies for c in by_type.values())
    overall = sum(c.satisfied for c in by_type.values()) / replies if replies else None
    out = {}
    for unit_id, per_type in counts_by_unit.items():
        n = sum(c.replies for c in per_type.values())
        observed = sum(c.satisfied for c in per_type.values())
        expected = sum(c.replies * type_rates.get(t, 0.0) for t, c in per_type.items())
        ratio = observed / expected if expected else None
        if ratio is not None and overall is not None:
            adjusted = min(1.0, ratio * overall)
        else:
            adjusted = observed / n if n else None
        out[unit_id] = {
            "n": n,
            "observed": observed,
            "expected": expected,
            "ratio": ratio,
            "adjusted": adjusted,
            "successes": min(n, max(0, round(adjusted * n))) if adjusted is not None else 0,
        }
    return out


def funnel_group(counts_by_unit: dict[int, dict[int, Counts]], *, minimum: int):
    """The adjusted figures of one peer group and its funnel on them: (adjustment per unit,
    eligible units in order, their adjusted successes, their answers, funnel result or None
    when fewer than MIN_RANKED units have `minimum` answers). Pure."""
    adjustment = adjusted_rates(counts_by_unit)
    eligible = sorted(u for u, a in adjustment.items() if a["n"] >= minimum)
    if len(eligible) < MIN_RANKED:
        return adjustment, [], (), (), None  # one unit alone is neither first nor last
    s = tuple(adjustment[u]["successes"] for u in eligible)
    n = tuple(adjustment[u]["n"] for u in eligible)
    return adjustment, eligible, s, n, stats.funnel(s, n)


def rank_group(counts_by_unit: dict[int, dict[int, Counts]], *, minimum: int, draws: int):
    """Rank one peer group on the adjusted rate: (adjustment per unit, rank per eligible
    unit, funnel point per eligible unit, funnel result or None). Pure."""
    adjustment, eligible, s, n, result = funnel_group(counts_by_unit, minimum=minimum)
    if result is None:
        return adjustment, {}, {}, None
    ranks = dict(zip(eligible, _rank_shrunk(s, n, draws), strict=True))
    points = dict(zip(eligible, result.points, strict=True))
    return adjustment, ranks, points, result


def _groups_for(index: UnitIndex, shown: list[OrgUnit], kind: str) -> tuple[dict, dict]:
    """Each shown unit's peer group: its fixed PeerGroup (with every member, also those
    outside the viewer's subtree), else the fallback group (units of `kind` under the
    viewer's root). Returns (unit pk -> group key, group key -> _Group). Two queries."""
    mine = dict(
        PeerGroupMember.objects.filter(unit_id__in=[u.pk for u in shown]).values_list(
            "unit_id", "group_id"
        )
    )
    groups: dict = {}
    if mine:
        rows = (
            PeerGroupMember.objects.filter(group_id__in=set(mine.values()), unit__is_active=True)
            .select_related("group", "unit")
            .order_by("unit__path")
        )
        for m in rows:
            group = groups.setdefault(m.group_id, _Group(m.group_id, m.group.name, []))
            group.members.append(m.unit)
    group_of = {}
    for u in shown:
        key = mine.get(u.pk)
        if key not in groups or all(m.pk != u.pk for m in groups[key].members):
            key = FALLBACK
        group_of[u.pk] = key
    if FALLBACK in group_of.values():
        members = [u for u in index.units if u.kind == kind and u.is_active]
        members += [u for u in shown if u not in members]
        groups[FALLBACK] = _Group(FALLBACK, "", members)
    return group_of, groups


def _fill_counts(index: UnitIndex, groups: dict, cube: Cube, period: Period, business_type):
    """Each group member's counts per business type, its own rows and its sub-units' alike:
    from the page's cube for what the viewer sees, and from one more read for the members
    outside the viewer's subtree (their counts feed the ranks only)."""
    outside = {m.pk: m for g in groups.values() for m in g.members if m.pk not in index.by_id}
    cells = dict(cube.cells)
    units = {u.pk: u.path for u in index.units}
    if outside:
        below = OrgUnit.objects.filter(
            reduce(or_, (Q(path__startswith=m.path) for m in outside.values()))
        ).values_list("pk", "path")
        extra_ids = {pk: path for pk, path in below if pk not in units}
        units.update(extra_ids)
        extra = counts_cube(
            period=period, unit_ids=list(extra_ids), mark=index.fill(SATISFACTION).last_day
        )
        cells.update(extra.cells)
    for group in groups.values():
        by_path = {m.path: m for m in group.members}
        group.counts = {m.pk: defaultdict(Counts) for m in group.members}
        for (unit_id, type_id), c in cells.items():
            if business_type is not None and type_id != business_type:
                continue
            path = units.get(unit_id)
            if path is None:
                continue
            for depth in range(len(path) // OrgUnit.steplen, 0, -1):
                member = by_path.get(path[: OrgUnit.steplen * depth])
                if member is not None:
                    group.counts[member.pk][type_id] += c
                    break


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
    """The units of one kind in `unit`'s subtree, each ranked within its peer group (see the
    module docstring): raw and adjusted rate, Wilson interval, shrunken rate, median rank with
    90% rank interval among the group's ranked units, P(last), funnel flag and O/E. Units
    with fewer than `conf.min_rank_sample()` answers are listed but not ranked."""
    index = index or UnitIndex(user)
    cube = cube or satisfaction_cube(user, period=period, index=index)
    kinds = index.kinds_below(unit) or [unit.kind]
    kind = kind if kind in kinds else kinds[0]
    shown = [
        u for u in index.units if u.kind == kind and u.is_active and u.path.startswith(unit.path)
    ]
    if unit.kind == kind and unit not in shown:
        shown.append(unit)
    group_of, groups = _groups_for(index, shown, kind)
    _fill_counts(index, groups, cube, period, business_type)

    minimum = conf.min_rank_sample()
    draws = conf.rank_draws()
    summaries, ranked = {}, {}
    for key, group in groups.items():
        adjustment, ranks, points, result = rank_group(group.counts, minimum=minimum, draws=draws)
        ranked[key] = (adjustment, ranks, points)
        summaries[key] = {
            "key": key,
            "name": group.name,
            "fallback": group.fallback,
            "peers": len(group.members),
            "ranked": len(ranks),
            "target": result.target if result else None,
            "tau2": result.tau2 if result else None,
        }

    rows = []
    for peer in shown:
        key = group_of[peer.pk]
        adjustment, ranks, points = ranked[key]
        per_type = groups[key].counts[peer.pk]
        t = Counts()
        for c in per_type.values():
            t += c
        a = adjustment[peer.pk]
        r = ranks.get(peer.pk)
        point = points.get(peer.pk)
        rows.append(
            {
                "unit": peer,
                "group": summaries[key],
                "sent": t.sent,
                **rate(t.satisfied, t.replies),
                "adjusted": a["adjusted"],
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
                "mix": {k: a[k] for k in ("observed", "expected", "ratio", "adjusted")}
                if business_type is None
                else None,
            }
        )
    # The group most rows belong to leads (its funnel is drawn); then the others.
    order = sorted(
        summaries, key=lambda k: (-sum(group_of[u.pk] == k for u in shown), k == FALLBACK)
    )
    rows.sort(
        key=lambda row: (
            order.index(row["group"]["key"]),
            not row["ranked"],
            row["median_rank"] or 0,
            -(row["shrunk"] or 0),
            row["unit"].path,
        )
    )
    main = summaries[order[0]] if order else None
    return {
        "kind": kind,
        "kind_label": UnitKind(kind).label if kind in UnitKind.values else kind,
        "kinds": [(k, UnitKind(k).label if k in UnitKind.values else k) for k in kinds],
        "groups": [summaries[k] for k in order],
        "main_group": main,
        "fallback": FALLBACK in summaries,
        "peers": main["peers"] if main else 0,
        "ranked": main["ranked"] if main else 0,
        "scope": index.root,
        "min_sample": minimum,
        "rows": rows,
        "target": main["target"] if main else None,
        "tau2": main["tau2"] if main else None,
        "adjusted": business_type is None,
        "rule_version": stats.RULE_VERSION,
    }


def _unit_link(unit, base: DrillFilters, figure: str) -> str:
    return drill_url(base, figure=figure, unit=unit.pk)


def _rank_text(rank: int, of: int) -> str:
    return _("第 %(k)d 名 / 共 %(n)d 个同类单位") % {"k": rank, "n": of}


def _group_text(group: dict, fig: dict) -> str:
    if group["fallback"]:
        return _("未设定同类单位组，暂按%(scope)s范围内的%(kind)s比较") % {
            "scope": fig["scope"].name,
            "kind": fig["kind_label"],
        }
    return group["name"]


def _ranking_table(fig: dict, base: DrillFilters) -> Table:
    headers = [
        _("单位"),
        _("比较范围"),
        _("参评"),
        _("满意率"),
        _("95%区间"),
        _("结构调整满意率"),
        _("收缩估计"),
        _("排名（中位）"),
        _("90%排名区间"),
        _("末位概率"),
        _("同类比较"),
    ]
    with_mix = any(r["mix"] is not None for r in fig["rows"])
    if with_mix:
        headers += [_("实际/预期（业务结构）")]
    table = Table("ranking", _("同类单位排名"), headers)
    flags = {"alarm": _("显著（99.8%）"), "alert": _("偏离（95%）")}
    for r in fig["rows"]:
        unit = r["unit"]
        if r["ranked"]:
            rank = Cell(
                _rank_text(r["median_rank"], r["group"]["ranked"]), r["median_rank"], num=True
            )
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
            text(_group_text(r["group"], fig), cls="muted" if r["group"]["fallback"] else ""),
            count(r["n"], href=_unit_link(unit, base, "satisfaction")),
            pct(r["rate"]),
            interval(r),
            pct(r["adjusted"]),
            pct(r["shrunk"]),
            *cells,
        ]
        if with_mix:
            mix = r["mix"] or {}
            row += [number(mix.get("ratio"))]
        table.rows.append(row)
    table.note = _(
        "每个单位只与其所在的同类单位组比较（组内全部单位的评价都计入排名，范围外单位只参与"
        "名次计算，不显示其数据）；参评少于 %(min)d 的单位不排名。排名按业务结构调整后的满意率"
        "（间接标准化：实际满意 / 按组内各业务满意率计算的预期满意 × 组内总体满意率），"
        "收缩估计、排名区间、末位概率与同类比较均基于调整后的满意率。"
        "收缩估计与排名区间为经验贝叶斯（beta-二项）后验；同类比较为漏斗图（已校正过度离散）。"
        "规则版本 %(rule)s。"
    ) % {"min": fig["min_sample"], "rule": fig["rule_version"]}
    if fig["fallback"]:
        table.note += " " + _(
            "未设定同类单位组的单位，暂按%(scope)s范围内的全部%(kind)s比较，不同查看范围下名次可能不同。"
        ) % {"scope": fig["scope"].name, "kind": fig["kind_label"]}
    return table

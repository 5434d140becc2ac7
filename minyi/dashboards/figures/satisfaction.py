"""Satisfaction (满意率): the trend by day (by week beyond two months) with its Wilson band,
and satisfaction per business type beside the reference rate of the same type and the
mix-adjusted rate (DOMAIN.md step 8: compare like with like).

The comparison by type and the ranking (ranking.py) read one `Cube` of counts per unit and
business type: whole weeks from SatisfactionWeekly, the days at the edges of the period (and
those not rolled up yet) from perception's SatisfactionDaily.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from minyi.core.periods import Period, _edge_days, _whole_weeks, monday, range_key
from minyi.dashboards.cells import DASH, Table, count, interval, pct, text
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import SatisfactionWeekly, UnitSatisfactionDaily
from minyi.dashboards.rates import rate, small, small_count
from minyi.dashboards.rollups import DAILY_SUMS, SATISFACTION
from minyi.dashboards.scope import UnitIndex, _unit_rows
from minyi.orgs.models import OrgUnit
from minyi.perception.models import SatisfactionDaily

_ROLLED_SUMS = {
    "s_sent": Sum("surveys_sent"),
    "s_replies": Sum("replies"),
    "s_satisfied": Sum("satisfied"),
}


@dataclass
class Counts:
    sent: int = 0
    replies: int = 0
    satisfied: int = 0

    def add(self, row) -> None:
        self.sent += row["s_sent"] or 0
        self.replies += row["s_replies"] or 0
        self.satisfied += row["s_satisfied"] or 0

    def __iadd__(self, other: "Counts"):
        self.sent += other.sent
        self.replies += other.replies
        self.satisfied += other.satisfied
        return self


@dataclass
class Cube:
    """Satisfaction counts per (unit id, business type id) over a period, for the user's
    whole root subtree: ranking, peers and reference rates all come from one read."""

    period: Period
    cells: dict[tuple[int, int], Counts] = field(default_factory=dict)

    def total(self, keep=lambda unit_id, type_id: True) -> Counts:
        out = Counts()
        for (unit_id, type_id), c in self.cells.items():
            if keep(unit_id, type_id):
                out += c
        return out

    def by_type(self, keep=lambda unit_id: True) -> dict[int, Counts]:
        out: dict[int, Counts] = defaultdict(Counts)
        for (unit_id, type_id), c in self.cells.items():
            if keep(unit_id):
                out[type_id] += c
        return out


def _week_span(period: Period, mark: date | None) -> tuple[date, date] | None:
    """Mondays of the first and last whole weeks inside the period that the weekly rollup
    holds (their Sunday no later than its fill mark); None when there are none."""
    if mark is None or mark < period.start:
        return None
    return _whole_weeks(period.start, min(period.end, mark))


def satisfaction_cube(user, *, period: Period, index: UnitIndex) -> Cube:
    """Per (unit, business type) counts for the period in the user's root subtree: whole weeks
    from SatisfactionWeekly, the days at either edge (and the days not rolled up yet) from
    SatisfactionDaily. Two grouped queries, whatever the number of units."""
    return counts_cube(
        period=period,
        unit_ids=index.subtree_ids(index.root),
        mark=index.fill(SATISFACTION).last_day,
    )


def counts_cube(*, period: Period, unit_ids, mark: date | None) -> Cube:
    """Per (unit, business type) counts for the period of the units `unit_ids` (the caller
    decides the scope), `mark` being the weekly rollup's fill mark."""
    cube = Cube(period)
    scope = Q(unit_id__in=list(unit_ids))
    weeks = _week_span(period, mark)
    if weeks:
        first, last = weeks
        rows = (
            SatisfactionWeekly.objects.filter(scope, week__gte=first, week__lte=last)
            .values("unit_id", "business_type_id")
            .annotate(**_ROLLED_SUMS)
            .order_by()
        )
        for r in rows:
            cube.cells.setdefault((r["unit_id"], r["business_type_id"]), Counts()).add(r)
    days = _edge_days(period, weeks)
    if days is not None:
        rows = (
            SatisfactionDaily.objects.filter(scope, days)
            .values("unit_id", "business_type_id")
            .annotate(**DAILY_SUMS)
            .order_by()
        )
        for r in rows:
            cube.cells.setdefault((r["unit_id"], r["business_type_id"]), Counts()).add(r)
    return cube


def _buckets(period: Period) -> list[tuple[date, date]]:
    """The trend's x axis: every day, or every (Monday-first) week clipped to the period."""
    if not period.by_week:
        return [(d, d) for d in (period.start + timedelta(days=i) for i in range(period.days))]
    out, start = [], period.start
    while start <= period.end:
        end = min(monday(start) + timedelta(days=6), period.end)
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def satisfaction_trend_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """Satisfaction by day (by week beyond two months) in `unit`'s subtree, each point with
    its Wilson 95% band; points about fewer than 5 replies are suppressed."""
    index = index or UnitIndex(user)
    by_day: dict[date, Counts] = defaultdict(Counts)
    scope = _unit_rows(index, unit)
    mark = index.fill(SATISFACTION).last_day
    live_from = period.start
    if business_type is None and mark is not None and mark >= period.start:
        rolled = (
            UnitSatisfactionDaily.objects.filter(
                scope, day__gte=period.start, day__lte=min(mark, period.end)
            )
            .values("day")
            .annotate(**_ROLLED_SUMS)
            .order_by()
        )
        for r in rolled:
            by_day[r["day"]].add(r)
        live_from = mark + timedelta(days=1)
    if live_from <= period.end:
        live = SatisfactionDaily.objects.filter(scope, day__gte=live_from, day__lte=period.end)
        if business_type is not None:
            live = live.filter(business_type_id=business_type)
        for r in live.values("day").annotate(**DAILY_SUMS).order_by():
            by_day[r["day"]].add(r)

    points, total = [], Counts()
    for start, end in _buckets(period):
        c = Counts()
        day = start
        while day <= end:
            c += by_day.get(day, Counts())
            day += timedelta(days=1)
        total += c
        points.append(
            {
                "start": start,
                "end": end,
                "sent": small_count(c.sent),
                **small(rate(c.satisfied, c.replies)),
            }
        )
    return {
        "points": points,
        "by_week": period.by_week,
        "total": rate(total.satisfied, total.replies),
    }


def _reference_rates(cube: Cube) -> tuple[dict[int, float], float | None]:
    """Per business type satisfaction rates over the whole root subtree, and the overall one:
    the standard for indirect standardisation (like with like, DOMAIN.md step 8)."""
    by_type = cube.by_type()
    rates = {t: c.satisfied / c.replies for t, c in by_type.items() if c.replies}
    total = cube.total()
    return rates, (total.satisfied / total.replies if total.replies else None)


def _mix(counts_by_type: dict[int, Counts], rates: dict[int, float], overall) -> dict:
    """Observed and expected satisfied (expected: the reference rate of each business type
    times the unit's answers of that type); O/E above 1 is better than the mix predicts."""
    observed = sum(c.satisfied for c in counts_by_type.values())
    expected = sum(c.replies * rates.get(t, 0.0) for t, c in counts_by_type.items() if c.replies)
    ratio = observed / expected if expected else None
    adjusted = min(1.0, ratio * overall) if ratio is not None and overall is not None else None
    return {"observed": observed, "expected": expected, "ratio": ratio, "adjusted": adjusted}


def business_type_comparison_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    index: UnitIndex | None = None,
    cube: Cube | None = None,
) -> dict:
    """Satisfaction per business type in `unit`'s subtree beside the reference rate of the
    same type under the user's root, and the unit's mix-adjusted rate (indirect
    standardisation: observed / expected)."""
    index = index or UnitIndex(user)
    cube = cube or satisfaction_cube(user, period=period, index=index)
    types = index.business_types()
    mine = cube.by_type(lambda unit_id: index.contains(unit, unit_id))
    reference = cube.by_type()
    ref_rates, overall = _reference_rates(cube)
    rows = []
    for type_id, c in sorted(mine.items(), key=lambda kv: -kv[1].replies):
        if not c.sent and not c.replies:
            continue
        ref = reference[type_id]
        bt = types.get(type_id)
        rows.append(
            {
                "business_type": bt,
                "sent": small_count(c.sent),
                **small(rate(c.satisfied, c.replies)),
                "reference": small(rate(ref.satisfied, ref.replies)),
            }
        )
    total = cube.total(lambda unit_id, type_id: index.contains(unit, unit_id))
    return {
        "rows": rows,
        "total": rate(total.satisfied, total.replies),
        "mix": _mix(mine, ref_rates, overall),
        "reference_overall": overall,
        "scope": index.root,
    }


def _trend_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "trend", _("满意度趋势"), [_("时段"), _("发送"), _("参评"), _("满意率"), _("95%区间")]
    )
    for p in reversed(fig["points"]):
        label = (
            f"{p['start']:%m-%d}"
            if p["start"] == p["end"]
            else f"{p['start']:%m-%d}–{p['end']:%m-%d}"
        )
        href = drill_url(base, figure="satisfaction", period=range_key(p["start"], p["end"]))
        table.rows.append(
            [
                text(label),
                count(p["sent"], suppressed=p["sent"] is None),
                count(p["n"], suppressed=p["suppressed"], href=href),
                pct(p["rate"], suppressed=p["suppressed"]),
                interval(p),
            ]
        )
    table.note = _("少于 5 人的时段不显示（<5）。区间为 Wilson 95% 置信区间。")
    return table


def _types_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "types",
        _("分业务满意度"),
        [_("业务类型"), _("发送"), _("参评"), _("满意率"), _("95%区间"), _("参照满意率")],
    )
    for r in fig["rows"]:
        bt = r["business_type"]
        name = bt.name if bt else DASH
        if bt is not None and bt.is_enforcement:
            name = _("%(name)s（执法类）") % {"name": name}
        href = drill_url(base, figure="satisfaction", type=bt.pk if bt else None)
        ref = r["reference"]
        table.rows.append(
            [
                text(name),
                count(r["sent"], suppressed=r["sent"] is None),
                count(r["n"], suppressed=r["suppressed"], href=href),
                pct(r["rate"], suppressed=r["suppressed"]),
                interval(r),
                pct(ref["rate"], suppressed=ref["suppressed"]),
            ]
        )
    mix = fig["mix"]
    ratio = f"{mix['ratio']:.3f}" if mix["ratio"] is not None else DASH
    adjusted = f"{mix['adjusted'] * 100:.1f}%" if mix["adjusted"] is not None else DASH
    table.note = _(
        "参照满意率为%(scope)s同一业务的满意率。按业务结构调整（间接标准化）："
        "实际满意 %(o)d / 预期满意 %(e).1f = %(ratio)s，调整后满意率 %(adj)s。"
        "少于 5 人的格子不显示（<5）。"
    ) % {
        "scope": fig["scope"].name,
        "o": mix["observed"],
        "e": mix["expected"],
        "ratio": ratio,
        "adj": adjusted,
    }
    return table

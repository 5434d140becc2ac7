"""Reads behind the dashboards (capability 1, steps 6 and 8 of DOMAIN.md; "Statistics we use").

One function per figure, `<figure>_for(user, unit, *, period, ...)`. Every read is scoped to
the user's subtree (`scope_q`) and to the chosen unit's subtree; peers for ranking are the
units of the same kind under the user's own root (the whole city for a city user).

Satisfaction figures read the rollups (this app's UnitSatisfactionDaily and
SatisfactionWeekly, perception's SatisfactionDaily, all net of appeal-excluded ratings) and
never the surveys; the callback figures read this app's CallbackDaily/ReasonDaily plus the
callbacks not rolled up yet. Work orders are few (tens of thousands) and are read directly.

Small cells: a breakdown below unit level (per officer, business type, reason, day or week)
about fewer than `conf.small_cell()` people comes back with its numbers set to None and
`suppressed=True`, so neither a table, a chart nor an export can show it.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from minyi.core import stats
from minyi.core.errors import NotFound
from minyi.dashboards import conf
from minyi.dashboards.models import (
    CallbackDaily,
    CallbackWeekly,
    FillState,
    OfficerSatisfactionDaily,
    ReasonDaily,
    ReasonWeekly,
    RepeatContact,
    SatisfactionWeekly,
    UnitSatisfactionDaily,
)
from minyi.dashboards.periods import Period, monday
from minyi.dashboards.rollups import CALLBACKS, OFFICERS, REPEATS, SATISFACTION
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.selectors import orgunit_root_for, scope_q
from minyi.perception.models import (
    BusinessType,
    Callback,
    CallbackKind,
    CallbackStatus,
    ReasonTag,
    SatisfactionDaily,
    Survey,
    SurveyStatus,
)
from minyi.workorders.models import OPEN_STATUSES, UNIT_STATUSES, WorkOrder, WorkOrderStatus

# Fewer units with enough answers than this: nobody is ranked.
MIN_RANKED = 2

# --- Shared pieces ---------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _wilson(successes: int, trials: int) -> tuple[float, float] | None:
    # statsmodels looks the normal quantile up again on every call (~0.2 ms); a page shows a
    # few hundred intervals, mostly the same ones as the last time it was asked for.
    return stats.wilson_interval(successes, trials)


def rate(successes: int | None, trials: int | None) -> dict:
    """A rate with its Wilson 95% interval; rate and interval are None without trials."""
    successes, trials = successes or 0, trials or 0
    interval = _wilson(successes, trials) if trials else None
    return {
        "s": successes,
        "n": trials,
        "rate": successes / trials if trials else None,
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
        "suppressed": False,
    }


def small(cell: dict, people: int | None = None) -> dict:
    """The cell with its numbers removed when it is about 1–4 people (a breakdown below unit
    level). `people` defaults to the cell's trials."""
    people = cell.get("n") if people is None else people
    if people and people < conf.small_cell():
        return {**{k: None for k in cell}, "suppressed": True}
    return cell


def small_count(n: int) -> int | None:
    return None if 0 < n < conf.small_cell() else n


class UnitIndex:
    """The units `user` sees under their root, loaded once per page: every figure maps its
    grouped rows onto units, branches and peers with it, in Python, with no per-unit query."""

    def __init__(self, user):
        self.user = user
        self.root = orgunit_root_for(user)
        if self.root is None:
            raise NotFound()
        self.units = list(
            OrgUnit.objects.filter(scope_q(user, ""), self.root.subtree_filter(""))
            .only("id", "path", "depth", "name", "short_name", "kind", "is_active", "numchild")
            .order_by("path")
        )
        self.by_id = {u.pk: u for u in self.units}

    def get(self, pk) -> OrgUnit:
        try:
            return self.by_id[int(pk)]
        except (KeyError, TypeError, ValueError):
            raise NotFound() from None

    def contains(self, unit: OrgUnit, unit_id: int) -> bool:
        other = self.by_id.get(unit_id)
        return other is not None and other.path.startswith(unit.path)

    def children(self, unit: OrgUnit) -> list[OrgUnit]:
        return [u for u in self.units if u.depth == unit.depth + 1 and u.path.startswith(unit.path)]

    def branch(self, unit: OrgUnit, unit_id: int) -> OrgUnit | None:
        """The child of `unit` whose subtree holds `unit_id`; `unit` itself for its own rows;
        None outside."""
        other = self.by_id.get(unit_id)
        if other is None or not other.path.startswith(unit.path):
            return None
        if other.depth == unit.depth:
            return unit
        step = OrgUnit.steplen * (unit.depth + 1)
        return self._by_path().get(other.path[:step])

    def fill(self, name: str) -> FillState:
        """How far a rollup has got (all marks read in one query per page)."""
        if not hasattr(self, "_fills"):
            self._fills = {f.name: f for f in FillState.objects.all()}
        return self._fills.get(name) or FillState(name=name)

    def business_types(self) -> dict[int, BusinessType]:
        if not hasattr(self, "_types"):
            self._types = {t.pk: t for t in BusinessType.objects.all()}
        return self._types

    def _by_path(self) -> dict[str, OrgUnit]:
        if not hasattr(self, "_paths"):
            self._paths = {u.path: u for u in self.units}
        return self._paths

    def subtree_ids(self, unit: OrgUnit) -> list[int]:
        return [u.pk for u in self.units if u.path.startswith(unit.path)]

    def kinds_below(self, unit: OrgUnit) -> list[str]:
        """Kinds of the units strictly below `unit`, most common first."""
        counts = Counter(
            u.kind for u in self.units if u.depth > unit.depth and u.path.startswith(unit.path)
        )
        return [kind for kind, _n in counts.most_common()]


def _unit_rows(index: UnitIndex, unit: OrgUnit) -> Q:
    """Rows whose `unit` is in `unit`'s subtree and visible to the index's user.

    The ids come from the scoped unit list (scope_q) rather than a join on the unit's path:
    the planner then sees an equality on `unit_id` it can estimate, instead of a path
    pattern it guesses wrong (one row), which made it rescan the time index once per unit.
    """
    return Q(unit_id__in=index.subtree_ids(unit))


# --- Satisfaction ----------------------------------------------------------------------------

_DAILY_SUMS = {
    "s_sent": Sum("surveys_sent"),
    "s_replies": Sum("replies"),
    "s_satisfied": Sum(F("rating_1") + F("rating_2") + F("rating_3")),
}
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
    cube = Cube(period)
    scope = _unit_rows(index, index.root)
    weeks = _week_span(period, index.fill(SATISFACTION).last_day)
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
            .annotate(**_DAILY_SUMS)
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
        for r in live.values("day").annotate(**_DAILY_SUMS).order_by():
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


def officer_satisfaction_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """Satisfaction per officer on the contacts of `unit` itself (not its subtree). Officers
    with fewer than 5 answers are not named: they are merged into one row, itself shown only
    if it is about 5 answers or more. Reads OfficerSatisfactionDaily, and the surveys of the
    unit too young for it (or all of the unit's surveys for one business type)."""
    index = index or UnitIndex(user)
    mark = index.fill(OFFICERS).last_id
    per_officer: dict[int, Counter] = defaultdict(Counter)
    rolled = business_type is None and mark is not None
    if rolled:
        for r in (
            OfficerSatisfactionDaily.objects.filter(
                _unit_rows(index, unit), unit=unit, day__gte=period.start, day__lte=period.end
            )
            .values("officer_id")
            .annotate(n=Sum("replies"), sat=Sum("satisfied"))
            .order_by()
        ):
            per_officer[r["officer_id"]].update(n=r["n"], sat=r["sat"])
    surveys = Survey.objects.filter(
        _unit_rows(index, unit),
        unit=unit,
        event__occurred_at__gte=period.start_at,
        event__occurred_at__lt=period.end_before,
        status=SurveyStatus.ANSWERED,
        excluded_at__isnull=True,
        rating__isnull=False,
        event__officers__isnull=False,
    )
    if rolled:
        surveys = surveys.filter(id__gt=mark)
    if business_type is not None:
        surveys = surveys.filter(business_type_id=business_type)
    for g in (
        surveys.values("event__officers")
        .annotate(n=Count("id"), sat=Count("id", filter=Q(rating__lte=3)))
        .order_by()
    ):
        per_officer[g["event__officers"]].update(n=g["n"], sat=g["sat"])
    officers = {o.pk: o for o in Officer.objects.filter(scope_q(user), pk__in=list(per_officer))}
    minimum = conf.small_cell()
    rows, other_s, other_n, merged = [], 0, 0, 0
    for officer_id, c in sorted(per_officer.items(), key=lambda kv: -kv[1]["n"]):
        officer = officers.get(officer_id)
        if officer is not None and c["n"] >= minimum:
            rows.append({"officer": officer, **rate(c["sat"], c["n"])})
        else:
            other_s, other_n, merged = other_s + c["sat"], other_n + c["n"], merged + 1
    other = small(rate(other_s, other_n)) if merged else None
    return {"rows": rows, "other": other, "merged": merged}


# --- Callbacks, work orders, reasons ---------------------------------------------------------


def _not_rolled_up(state: FillState) -> Q:
    """Callbacks the callback rollups do not hold yet: not done, or done after the mark.
    Written as `status IN (…)` so the planner can use the queue index for it."""
    if state.last_time is None:
        return Q()
    return (
        Q(status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS])
        | Q(completed_at__gt=state.last_time)
        | Q(completed_at=state.last_time, id__gt=state.last_id or 0)
    )


def _whole_weeks(start: date, end: date) -> tuple[date, date] | None:
    """Mondays of the first and last whole (Monday–Sunday) weeks within [start, end]."""
    first = monday(start)
    if first < start:
        first += timedelta(days=7)
    last = monday(end + timedelta(days=1)) - timedelta(days=7)
    return (first, last) if first <= last else None


def _edge_days(period: Period, weeks: tuple[date, date] | None) -> Q | None:
    """The days of the period outside its whole weeks (None when there are none). Listed
    one by one (at most twelve when the weeks are filled): `day IN (…)` is one probe of the
    index per day, where two ORed ranges made the planner scan the whole table."""
    if weeks is None:
        return Q(day__gte=period.start, day__lte=period.end)
    first, last = weeks
    days = [d for d in _days(period) if d < first or d > last + timedelta(days=6)]
    return Q(day__in=days) if days else None


def callback_timeliness_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
    now=None,
) -> dict:
    """Callbacks due in the period: done by their due time / all due (open ones included),
    with Wilson interval; and callbacks overdue now (any due date). Per child unit too.
    Completed callbacks come from CallbackWeekly/Daily (whole weeks, then the days at the
    edges); the rest, or everything for one business type, from the callbacks."""
    index = index or UnitIndex(user)
    now = now or timezone.now()
    state = index.fill(CALLBACKS)
    per_unit: dict[int, Counter] = defaultdict(Counter)
    scope = _unit_rows(index, unit)
    rolled = business_type is None and state.last_time is not None
    if rolled:
        weeks = _whole_weeks(period.start, period.end)
        edges = _edge_days(period, weeks)
        parts = [CallbackDaily.objects.filter(scope, edges)] if edges is not None else []
        if weeks:
            parts.append(
                CallbackWeekly.objects.filter(scope, week__gte=weeks[0], week__lte=weeks[1])
            )
        for part in parts:
            for r in (
                part.values("unit_id").annotate(done=Sum("done"), on_time=Sum("on_time")).order_by()
            ):
                per_unit[r["unit_id"]].update(
                    due=r["done"], on_time=r["on_time"], late=r["done"] - r["on_time"]
                )
    type_q = Q() if business_type is None else Q(survey__business_type_id=business_type)
    done = Q(status=CallbackStatus.DONE)
    live = (
        Callback.objects.filter(
            scope,
            type_q,
            _not_rolled_up(state) if rolled else Q(),
            due_at__gte=period.start_at,
            due_at__lt=period.end_before,
        )
        .values("unit_id")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=done & Q(completed_at__lte=F("due_at"))),
            late=Count("id", filter=done & Q(completed_at__gt=F("due_at"))),
            open=Count("id", filter=~done),
        )
        .order_by()
    )
    for r in live:
        per_unit[r["unit_id"]].update({k: r[k] for k in ("due", "on_time", "late", "open")})
    overdue = (
        Callback.objects.filter(
            scope,
            type_q,
            status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS],
            due_at__lt=now,
        )
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in overdue:
        per_unit[r["unit_id"]]["overdue_now"] += r["n"]
    return _by_branch(index, unit, per_unit, _callback_row)


def _callback_row(c: Counter) -> dict:
    return {
        **rate(c["on_time"], c["due"]),
        "late": c["late"],
        "open": c["open"],
        "overdue_now": c["overdue_now"],
    }


def _by_branch(index: UnitIndex, unit: OrgUnit, per_unit: dict[int, Counter], row) -> dict:
    """Sum per-unit counters into the total and one row per child unit (and one for `unit`'s
    own rows when it has any)."""
    total: Counter = Counter()
    branches: dict[int, Counter] = defaultdict(Counter)
    for unit_id, c in per_unit.items():
        branch = index.branch(unit, unit_id)
        if branch is None:
            continue
        total.update(c)
        branches[branch.pk].update(c)
    rows = []
    for child in [unit, *index.children(unit)]:
        c = branches.get(child.pk)
        if c is None and child is unit:
            continue
        rows.append({"unit": child, "own": child is unit, **row(c or Counter())})
    return {"total": row(total), "rows": rows}


def workorder_performance_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
    today: date | None = None,
) -> dict:
    """Work orders dispatched in the period: feedback by the deadline (on time) or not
    (late, or still without feedback past the deadline), closure rate (closed / dispatched,
    cancelled ones left out) beside the true resolution rate (closed after a satisfied 追评 /
    closed); and orders overdue now (any dispatch date). Per child unit too."""
    index = index or UnitIndex(user)
    today = today or timezone.localdate()
    scope = _unit_rows(index, unit)
    type_q = Q() if business_type is None else Q(business_type_id=business_type)
    cancelled = Q(status=WorkOrderStatus.CANCELLED)
    on_time = Q(feedback_at__isnull=False, feedback_at__date__lte=F("deadline"))
    late = Q(feedback_at__isnull=False, feedback_at__date__gt=F("deadline")) | Q(
        feedback_at__isnull=True, deadline__lt=today, status__in=UNIT_STATUSES
    )
    grouped = (
        WorkOrder.objects.filter(
            scope,
            type_q,
            dispatched_at__gte=period.start_at,
            dispatched_at__lt=period.end_before,
        )
        .values("unit_id")
        .annotate(
            dispatched=Count("id", filter=~cancelled),
            cancelled=Count("id", filter=cancelled),
            closed=Count("id", filter=Q(status=WorkOrderStatus.CLOSED)),
            resolved=Count("id", filter=Q(status=WorkOrderStatus.CLOSED, resolved=True)),
            on_time=Count("id", filter=~cancelled & on_time),
            late=Count("id", filter=~cancelled & late),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        )
        .order_by()
    )
    per_unit: dict[int, Counter] = defaultdict(Counter)
    keys = ("dispatched", "cancelled", "closed", "resolved", "on_time", "late", "open")
    for r in grouped:
        per_unit[r["unit_id"]].update({k: r[k] for k in keys})
    overdue = (
        WorkOrder.objects.filter(scope, type_q, status__in=UNIT_STATUSES, deadline__lt=today)
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in overdue:
        per_unit[r["unit_id"]]["overdue_now"] += r["n"]
    return _by_branch(index, unit, per_unit, _workorder_row)


def _workorder_row(c: Counter) -> dict:
    return {
        "dispatched": c["dispatched"],
        "cancelled": c["cancelled"],
        "open": c["open"],
        "overdue_now": c["overdue_now"],
        "on_time": rate(c["on_time"], c["on_time"] + c["late"]),
        "closure": rate(c["closed"], c["dispatched"]),
        "resolution": rate(c["resolved"], c["closed"]),
    }


TOP_REASONS = 5


def top_reasons_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """Reason tags recorded on first callbacks completed in the period: count and share of
    the callbacks with tags, most frequent first, and the weekly trend of the top five.
    Counts about fewer than 5 people are suppressed. Reads ReasonWeekly/Daily, and the
    callbacks not rolled up yet (or all of them, for one business type)."""
    index = index or UnitIndex(user)
    state = index.fill(CALLBACKS)
    scope = _unit_rows(index, unit)
    per_week: dict[tuple[date, str], int] = Counter()
    rolled = business_type is None and state.last_time is not None
    if rolled:
        weeks = _whole_weeks(period.start, period.end)
        edges = _edge_days(period, weeks)
        if edges is not None:
            rows = ReasonDaily.objects.filter(scope, edges).values("day", "tag")
            for r in rows.annotate(total=Sum("n")).order_by():
                per_week[(monday(r["day"]), r["tag"])] += r["total"]
        if weeks:
            whole = ReasonWeekly.objects.filter(scope, week__gte=weeks[0], week__lte=weeks[1])
            for r in whole.values("week", "tag").annotate(total=Sum("n")).order_by():
                per_week[(r["week"], r["tag"])] += r["total"]
    live = Callback.objects.filter(
        scope,
        _not_rolled_up(state) if rolled else Q(),
        kind=CallbackKind.FIRST,
        status=CallbackStatus.DONE,
        completed_at__gte=period.start_at,
        completed_at__lt=period.end_before,
    )
    if business_type is not None:
        live = live.filter(survey__business_type_id=business_type)
    for completed_at, tags in live.values_list("completed_at", "tags"):
        tags = set(tags or [])
        if tags:
            week = monday(timezone.localtime(completed_at).date())
            for tag in tags | {""}:
                per_week[(week, tag)] += 1

    totals: Counter = Counter()
    for (_week, tag), n in per_week.items():
        totals[tag] += n
    base = totals.pop("", 0)
    labels = dict(ReasonTag.choices)
    rows = [
        {
            "tag": tag,
            "label": labels.get(tag, tag),
            **small(rate(n, base), people=n),
        }
        for tag, n in totals.most_common()
    ]
    top = [tag for tag, _n in totals.most_common(TOP_REASONS)]
    weeks_axis = sorted({monday(d) for d in _days(period)})
    return {
        "base": base,
        "rows": rows,
        "weeks": weeks_axis,
        "series": [
            {
                "tag": t,
                "label": labels.get(t, t),
                "values": [small_count(per_week.get((w, t), 0)) for w in weeks_axis],
            }
            for t in top
        ],
    }


def _days(period: Period):
    return (period.start + timedelta(days=i) for i in range(period.days))


# --- 跑多次 -----------------------------------------------------------------------------------


def _repeats(
    index: UnitIndex, unit: OrgUnit, *, period: Period, business_type: int | None
) -> QuerySet:
    qs = RepeatContact.objects.filter(
        _unit_rows(index, unit),
        occurred_at__gte=period.start_at,
        occurred_at__lt=period.end_before,
    )
    if business_type is not None:
        qs = qs.filter(business_type_id=business_type)
    return qs


def repeat_contacts_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """跑多次: citizens (mobile + business type pairs) who came again within the repeat window
    for a contact in the period, in total, per child unit (the unit of the repeat contact)
    and per business type (suppressed below 5)."""
    index = index or UnitIndex(user)
    qs = _repeats(index, unit, period=period, business_type=business_type)
    # Each pair has one business type, so the per-type counts add up to the total; a pair may
    # come back in two child units and then counts in both.
    types = index.business_types()
    by_type = list(
        qs.values("business_type_id")
        .annotate(pairs=Count("pair", distinct=True), repeats=Count("id"))
        .order_by("-pairs", "business_type_id")
    )
    children = index.children(unit)
    branch = Case(
        *[When(unit_id__in=index.subtree_ids(c), then=Value(c.pk)) for c in children],
        default=Value(unit.pk),
        output_field=IntegerField(),
    )
    by_branch = {
        r["branch"]: r
        for r in qs.annotate(branch=branch)
        .values("branch")
        .annotate(pairs=Count("pair", distinct=True), repeats=Count("id"))
        .order_by()
    }
    unit_rows = []
    for child in [unit, *children]:
        r = by_branch.get(child.pk)
        if r is None and child is unit:
            continue
        unit_rows.append(
            {
                "unit": child,
                "own": child is unit,
                "pairs": r["pairs"] if r else 0,
                "repeats": r["repeats"] if r else 0,
            }
        )
    type_rows = [
        {
            "business_type": types.get(r["business_type_id"]),
            "pairs": small_count(r["pairs"]),
            "repeats": small_count(r["repeats"]) if small_count(r["pairs"]) is not None else None,
            "suppressed": small_count(r["pairs"]) is None,
        }
        for r in by_type
    ]
    total = {
        "pairs": sum(r["pairs"] for r in by_type),
        "repeats": sum(r["repeats"] for r in by_type),
    }
    state = index.fill(REPEATS)
    return {
        "pairs": total["pairs"],
        "repeats": total["repeats"],
        "units": unit_rows,
        "types": type_rows,
        "window_days": conf.repeat_window().days,
        "updated_at": state.updated_at if state.pk else None,
    }


# --- Drill-down: the rows behind a figure ----------------------------------------------------


@dataclass(frozen=True)
class DrillFilters:
    figure: str
    unit: OrgUnit
    period: Period
    business_type: int | None = None
    tag: str = ""
    status: str = ""
    officer: int | None = None

    def as_params(self) -> dict:
        params = {"figure": self.figure, "unit": self.unit.pk, "period": self.period.key}
        for key in ("tag", "status"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.business_type is not None:
            params["type"] = self.business_type
        if self.officer is not None:
            params["officer"] = self.officer
        return params


DRILL_FIGURES = ("satisfaction", "callbacks", "reasons", "workorders", "repeats")
# What a drill-down row shows besides its own columns.
DRILL_RELATED = {
    "satisfaction": ("unit", "business_type", "event"),
    "callbacks": ("unit", "survey__business_type", "survey__event"),
    "reasons": ("unit", "survey__business_type", "survey__event"),
    "workorders": ("unit", "business_type"),
    "repeats": (),
}
DRILL_STATUSES = {
    "satisfaction": ("satisfied", "unsatisfied"),
    "callbacks": ("on_time", "late", "open", "overdue"),
    "reasons": (),
    "workorders": ("on_time", "late", "closed", "resolved", "open", "overdue"),
    "repeats": (),
}


def drill_rows(
    user, filters: DrillFilters, *, index: UnitIndex | None = None, now=None
) -> QuerySet:
    """The rows behind a figure, scoped to the user's subtree, newest first. Filters use the
    same definitions as the figures; every one of them is on an indexed or denormalised
    column together with a unit and time range. Related rows are not joined here: see
    `drill_page` and `drill_export_rows`."""
    f = filters
    index = index or UnitIndex(user)
    scope = _unit_rows(index, f.unit)
    now = now or timezone.now()
    if f.figure == "satisfaction":
        qs = Survey.objects.filter(
            scope,
            # The same units again through the event (Survey.unit is a copy of it), so the
            # planner may start from whichever index on units and time serves better.
            event__unit_id__in=index.subtree_ids(f.unit),
            status=SurveyStatus.ANSWERED,
            excluded_at__isnull=True,
            rating__isnull=False,
            event__occurred_at__gte=f.period.start_at,
            event__occurred_at__lt=f.period.end_before,
        )
        if f.business_type is not None:
            qs = qs.filter(business_type_id=f.business_type)
        if f.status == "satisfied":
            qs = qs.filter(rating__lte=3)
        elif f.status == "unsatisfied":
            qs = qs.filter(rating__gte=4)
        if f.officer is not None:
            qs = qs.filter(event__officers=f.officer)
        return qs.order_by("-event__occurred_at", "-id")
    if f.figure in ("callbacks", "reasons"):
        qs = Callback.objects.filter(scope)
        if f.figure == "reasons":
            qs = qs.filter(
                kind=CallbackKind.FIRST,
                status=CallbackStatus.DONE,
                completed_at__gte=f.period.start_at,
                completed_at__lt=f.period.end_before,
            )
            if f.tag:
                # Tags are a JSON list of known codes; the quotes keep one code from matching
                # inside another.
                qs = qs.filter(tags__icontains=f'"{f.tag}"')
            order = ("-completed_at", "-id")
        elif f.status == "overdue":
            qs = qs.filter(
                status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS], due_at__lt=now
            )
            order = ("due_at", "id")
        else:
            qs = qs.filter(due_at__gte=f.period.start_at, due_at__lt=f.period.end_before)
            done = Q(status=CallbackStatus.DONE)
            qs = qs.filter(
                {
                    "on_time": done & Q(completed_at__lte=F("due_at")),
                    "late": done & Q(completed_at__gt=F("due_at")),
                    "open": ~done,
                }.get(f.status, Q())
            )
            order = ("-due_at", "-id")
        if f.business_type is not None:
            qs = qs.filter(survey__business_type_id=f.business_type)
        return qs.order_by(*order)
    if f.figure == "workorders":
        today = timezone.localdate()
        qs = WorkOrder.objects.filter(scope)
        if f.status == "overdue":
            qs = qs.filter(status__in=UNIT_STATUSES, deadline__lt=today)
        else:
            qs = qs.filter(
                dispatched_at__gte=f.period.start_at, dispatched_at__lt=f.period.end_before
            )
            qs = qs.filter(
                {
                    "on_time": Q(feedback_at__isnull=False, feedback_at__date__lte=F("deadline")),
                    "late": Q(feedback_at__isnull=False, feedback_at__date__gt=F("deadline"))
                    | Q(feedback_at__isnull=True, deadline__lt=today, status__in=UNIT_STATUSES),
                    "closed": Q(status=WorkOrderStatus.CLOSED),
                    "resolved": Q(status=WorkOrderStatus.CLOSED, resolved=True),
                    "open": Q(status__in=OPEN_STATUSES),
                }.get(f.status, Q())
            )
            if f.status in ("on_time", "late"):
                qs = qs.exclude(status=WorkOrderStatus.CANCELLED)
        if f.business_type is not None:
            qs = qs.filter(business_type_id=f.business_type)
        return qs.order_by("-dispatched_at", "-id")
    if f.figure == "repeats":
        qs = _repeats(index, f.unit, period=f.period, business_type=f.business_type)
        return (
            qs.values("pair", "unit_id", "unit__name", "business_type__name", "mobile_masked")
            .annotate(
                repeats=Count("id"),
                first_at=Min("previous_occurred_at"),
                last_at=Max("occurred_at"),
            )
            .order_by("-last_at", "pair", "unit_id")
        )
    raise NotFound()


# --- The whole page --------------------------------------------------------------------------

FIGURES = (
    "trend",
    "ranking",
    "types",
    "callbacks",
    "workorders",
    "reasons",
    "repeats",
    "officers",
)


def dashboard_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    kind: str = "",
    index: UnitIndex | None = None,
    only: set[str] | None = None,
) -> dict:
    """Every figure of the dashboard page (or those in `only`), sharing one unit index and
    one satisfaction cube. The number of queries does not depend on the number of units."""
    index = index or UnitIndex(user)
    wanted = set(FIGURES) if only is None else set(only)
    cube = None
    if wanted & {"ranking", "types"}:
        cube = satisfaction_cube(user, period=period, index=index)
    figures: dict = {}
    common = {"period": period, "business_type": business_type}
    if "trend" in wanted:
        figures["trend"] = satisfaction_trend_for(user, unit, **common, index=index)
    if "ranking" in wanted:
        figures["ranking"] = unit_ranking_for(
            user, unit, **common, kind=kind, index=index, cube=cube
        )
    if "types" in wanted:
        figures["types"] = business_type_comparison_for(
            user, unit, period=period, index=index, cube=cube
        )
    if "callbacks" in wanted:
        figures["callbacks"] = callback_timeliness_for(user, unit, **common, index=index)
    if "workorders" in wanted:
        figures["workorders"] = workorder_performance_for(user, unit, **common, index=index)
    if "reasons" in wanted:
        figures["reasons"] = top_reasons_for(user, unit, **common, index=index)
    if "repeats" in wanted:
        figures["repeats"] = repeat_contacts_for(user, unit, **common, index=index)
    if "officers" in wanted and not unit.numchild:  # a station or brigade: its own officers
        figures["officers"] = officer_satisfaction_for(user, unit, **common, index=index)
    return figures


def drill_page(
    user, filters: DrillFilters, *, page: int, page_size: int, index: UnitIndex | None = None
) -> tuple[list, bool]:
    """One page of drill-down rows and whether there is a next one (a row more than the page
    is asked for: no COUNT(*) over millions of rows). The page's keys are found first and
    only those rows are then loaded with what they show, so the joins run for 50 rows, not
    for every candidate the sort has to look at."""
    qs = drill_rows(user, filters, index=index)
    offset = (page - 1) * page_size
    if filters.figure == "repeats":
        rows = list(qs[offset : offset + page_size + 1])
        return rows[:page_size], len(rows) > page_size
    keys = list(qs.values_list("pk", flat=True)[offset : offset + page_size + 1])
    loaded = qs.model.objects.select_related(*DRILL_RELATED[filters.figure]).in_bulk(
        keys[:page_size]
    )
    return [loaded[k] for k in keys[:page_size] if k in loaded], len(keys) > page_size


def drill_export_rows(user, filters: DrillFilters, *, limit: int, index: UnitIndex | None = None):
    """Every drill-down row (up to `limit`) with what it shows, streamed in chunks."""
    qs = drill_rows(user, filters, index=index)
    related = DRILL_RELATED[filters.figure]
    if related:
        qs = qs.select_related(*related)
    return qs[:limit].iterator(chunk_size=2000)

"""The three colours (三色管理), issue 16 item 3: each community's criminal-incident rate over
the 12 months ending with a month, against the city's, as red / orange / green (or grey when
there is too little to go on), and the monthly report of where prevention effort should go.

The statistics (rule `RULE_VERSION`), for the communities of a bureau and a month M:
- observed O = incidents in the 12 months ending with M; population P = the mean monthly
  population (registered + floating) over those months with data (none: grey, "no population"),
  a month's figure from the highest level with data (`community_populations`);
- city rate r = ΣO / ΣP, expected E = r·P;
- empirical-Bayes smoothing (Clayton & Kaldor 1987; Marshall 1991): the relative risk has a
  Gamma prior fitted by the method of moments, m = ΣO/ΣE (= 1 here by construction) and
  s² = max(0, Σ E_i (O_i/E_i − m)² / ΣE − m / mean(E)); the smoothed ratio is
  (O + a) / (E + b) with a = m²/s², b = m/s² (s² = 0: every area is like the city, ratio m);
- the one-sided Poisson test p = P(X ≥ O | E);
- this month's signal: grey when E < 5; red when the smoothed ratio ≥ 1.5 and p < 0.01;
  orange when the smoothed ratio ≥ 1.2 or p < 0.05; green otherwise;
- the colour shown changes only when the signal has said the same two months in a row (else
  the previous colour stays). The previous row is the latest earlier one: after a missing
  month it is no confirmation, so the colour changes only once two consecutive computed months
  agree; recomputing a month recomputes the later months stored, in order. Choices: a
  community without any earlier row (its first month) shows its signal; grey ("too little
  data") shows at once, because no colour should stand on data we no longer have, and leaving
  grey again takes the usual two months.

The statistics are plain numpy on arrays (`colour_signals`, `colour_persist`), so the
simulations in the tests and a 5,000-area city run without the database.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy import stats

from minyi.community.models import (
    AreaColour,
    AreaLevel,
    AreaPopulation,
    Colour,
    GridArea,
    Incident,
)
from minyi.community.selectors import area_scope_q
from minyi.orgs.models import OrgUnit

RULE_VERSION = "grid-colour-2026.2"  # .2: population by level, persistence after a gap
WINDOW_MONTHS = 12
MIN_EXPECTED = 5.0  # grey below this many incidents expected
RED_RATIO, RED_P = 1.5, 0.01
ORANGE_RATIO, ORANGE_P = 1.2, 0.05
PER = 10_000  # rates per 10,000 residents a year (the window is a year)
# The order of the report: where effort should go first.
COLOUR_ORDER = {Colour.RED: 0, Colour.ORANGE: 1, Colour.GREEN: 2, Colour.GREY: 3}
INTERVAL = 0.90  # the exact Poisson interval of O/E shown as "how sure"


# --- Months ----------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_add(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_window(month: date) -> tuple[date, date]:
    """(first month, the month after the last) of the 12 months ending with `month`."""
    month = month_start(month)
    return month_add(month, 1 - WINDOW_MONTHS), month_add(month, 1)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- The statistics (arrays) ------------------------------------------------------------------


@dataclass
class Signals:
    """Per area: expected count, smoothed ratio, p-value, raw and smoothed rate per 10,000 a
    year, and this month's signal; with the city's rate and the prior's parameters."""

    expected: np.ndarray
    ratio: np.ndarray
    p_value: np.ndarray
    rate: np.ndarray
    smoothed_rate: np.ndarray
    signal: np.ndarray
    city_rate: float  # incidents per resident over the window
    prior_a: float | None  # None when s² = 0 (no extra variation: every ratio is m)
    prior_b: float | None


def colour_signals(observed, population) -> Signals:
    """This month's signals for areas with `observed` incidents over the window and mean
    `population` (0: no population data). Vectorised: one pass over arrays."""
    observed = np.asarray(observed, dtype=float)
    population = np.asarray(population, dtype=float)
    known = population > 0
    total_population = population[known].sum()
    city_rate = float(observed[known].sum() / total_population) if total_population else 0.0
    expected = city_rate * population
    usable = expected > 0
    ratio = np.ones_like(expected)
    prior_a = prior_b = None
    if usable.any():
        o, e = observed[usable], expected[usable]
        m = o.sum() / e.sum()
        raw = o / e
        s2 = max(0.0, float((e * (raw - m) ** 2).sum() / e.sum() - m / e.mean()))
        if s2 > 0:
            prior_a, prior_b = m * m / s2, m / s2
            ratio[usable] = (o + prior_a) / (e + prior_b)
        else:
            ratio[usable] = m
    p_value = np.ones_like(expected)
    p_value[usable] = stats.poisson.sf(observed[usable] - 1, expected[usable])
    rate = np.zeros_like(expected)
    rate[known] = observed[known] / population[known] * PER
    smoothed_rate = np.where(usable, ratio * city_rate * PER, 0.0)
    red = (ratio >= RED_RATIO) & (p_value < RED_P)
    orange = (ratio >= ORANGE_RATIO) | (p_value < ORANGE_P)
    signal = np.where(red, Colour.RED.value, np.where(orange, Colour.ORANGE.value, "green"))
    signal = np.where(expected < MIN_EXPECTED, Colour.GREY.value, signal).astype(object)
    return Signals(
        expected=expected,
        ratio=np.where(usable, ratio, 0.0),
        p_value=p_value,
        rate=rate,
        smoothed_rate=smoothed_rate,
        signal=signal,
        city_rate=city_rate,
        prior_a=prior_a,
        prior_b=prior_b,
    )


def colour_persist(signal, previous_signal, previous_colour, consecutive=True) -> np.ndarray:
    """The colour shown: the signal when the previous row's signal was the same (two in a row),
    else the previous row's colour. The previous row is the latest earlier one; `consecutive`
    (per area, or one value for all) says it is last month's: after a gap it is no
    confirmation, so the earlier colour stays until two consecutive computed months agree.
    "" in `previous_*` means no earlier row: the signal shows. Grey shows at once (see the
    module docstring)."""
    signal = np.asarray(signal, dtype=object)
    previous_signal = np.asarray(previous_signal, dtype=object)
    previous_colour = np.asarray(previous_colour, dtype=object)
    consecutive = np.broadcast_to(np.asarray(consecutive, dtype=bool), signal.shape)
    confirmed = (signal == previous_signal) & consecutive
    kept = np.where(confirmed, signal, previous_colour)
    colour = np.where(previous_colour == "", signal, kept)
    return np.where(signal == Colour.GREY.value, signal, colour)


def ratio_interval(observed: int, expected: float, level: float = INTERVAL):
    """The exact (Garwood) interval of the raw ratio O/E, or (None, None) without E."""
    if expected <= 0:
        return None, None
    tail = (1 - level) / 2
    low = stats.chi2.ppf(tail, 2 * observed) / 2 if observed > 0 else 0.0
    high = stats.chi2.ppf(1 - tail, 2 * observed + 2) / 2
    return float(low / expected), float(high / expected)


# --- The monthly computation -------------------------------------------------------------------


# The levels a community's population is read from, highest first: its own rows, else the sum
# of its resident groups' rows, else the sum of its buildings' (and segments') rows. One level
# only for a month: a building sits inside a group, so adding the two would count it twice.
POPULATION_LEVELS = (
    (AreaLevel.COMMUNITY,),
    (AreaLevel.GROUP,),
    (AreaLevel.BUILDING, AreaLevel.SEGMENT),
)


def _populations_by_month(rows) -> dict[int, dict[date, int]]:
    """Community → month → population (registered + floating) of the `AreaPopulation` rows
    given, by the highest level with data that month. Summed in the database by community,
    level and month."""
    rank = {level: i for i, levels in enumerate(POPULATION_LEVELS) for level in levels}
    best: dict[int, dict[date, tuple[int, int]]] = defaultdict(dict)
    for community_id, level, month, total in (
        rows.values("area__community_id", "area__level", "month")
        .annotate(total=Sum(F("registered") + F("floating")))
        .values_list("area__community_id", "area__level", "month", "total")
    ):
        level_rank = rank[level]
        found = best[community_id].get(month)
        if found is None or level_rank < found[0]:
            best[community_id][month] = (level_rank, total)
        elif level_rank == found[0]:  # segments beside buildings: the same level
            best[community_id][month] = (level_rank, found[1] + total)
    return {
        community_id: {month: total for month, (_rank, total) in sorted(by_month.items())}
        for community_id, by_month in best.items()
    }


def community_populations(
    community_ids, first_month: date, last_month: date
) -> dict[int, dict[date, int]]:
    """Community → month → population (registered + floating, 实有人口) for the months from
    `first_month` to `last_month` inclusive that have data, by the highest level with data in
    that month: the community's own row, else the sum of its resident groups' rows, else the
    sum of its buildings' rows. Months without data are absent (never 0). The one rule for
    every page that divides by population (the colours, the citizen page's trend)."""
    rows = AreaPopulation.objects.filter(
        area__community_id__in=list(community_ids),
        month__gte=month_start(first_month),
        month__lte=month_start(last_month),
    )
    return _populations_by_month(rows)


def _populations(bureau: OrgUnit, start: date, end: date) -> dict[int, float]:
    """Mean monthly population per community of the bureau over the months in [start, end)
    with data (`community_populations`' rule)."""
    rows = AreaPopulation.objects.filter(
        bureau.subtree_filter("area__community__station__"), month__gte=start, month__lt=end
    )
    return {
        community_id: sum(by_month.values()) / len(by_month)
        for community_id, by_month in _populations_by_month(rows).items()
        if by_month
    }


UPSERT_FIELDS = [
    "population",
    "observed",
    "expected",
    "rate",
    "smoothed_rate",
    "ratio",
    "p_value",
    "signal",
    "colour",
    "rule_version",
    "computed_at",
]


def _colours_upsert(rows: list[dict]) -> None:
    """INSERT … ON CONFLICT (area, month) DO UPDATE, many rows a statement (SQLite ≥ 3.24 and
    PostgreSQL alike). Django's bulk_create compiles every value of every row in Python, about
    a second for 5,000 areas, and psycopg's executemany sends a statement a row; here the
    rows go in batches as the driver's parameter limit allows."""
    fields = [AreaColour._meta.get_field(name) for name in ["area", "month", *UPSERT_FIELDS]]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    template = (
        "INSERT INTO {table} ({columns}) VALUES {values} "
        "ON CONFLICT ({area}, {month}) DO UPDATE SET {updates}"
    )
    # The month and the time are the same in every row: prepared once.
    fixed = {
        name: AreaColour._meta.get_field(name).get_db_prep_save(rows[0][name], connection)
        for name in ("month", "computed_at")
    }
    limit = connection.features.max_query_params or 999
    batch = max(1, min(1000, limit // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            sql = template.format(  # names from the model, values as parameters
                table=quote(AreaColour._meta.db_table),
                columns=", ".join(columns),
                values=", ".join([placeholders] * len(chunk)),
                area=columns[0],
                month=columns[1],
                updates=", ".join(f"{c} = excluded.{c}" for c in columns[2:]),
            )
            params = [(row | fixed)[field.name] for row in chunk for field in fields]
            cursor.execute(sql, params)


@transaction.atomic
def colours_compute(bureau: OrgUnit, month: date, now=None) -> int:
    """Compute and store (upsert) the colours of every community of the stations in
    `bureau`'s subtree for `month`, then recompute the later months already stored, oldest
    first (each month's colour stands on the one before it); returns the rows written."""
    now = now or timezone.now()
    month = month_start(month)
    later = list(
        AreaColour.objects.filter(
            bureau.subtree_filter("area__station__"),
            area__level=AreaLevel.COMMUNITY,
            month__gt=month,
        )
        .order_by("month")
        .values_list("month", flat=True)
        .distinct()
    )
    written = _colours_compute_month(bureau, month, now)
    for when in later:
        written += _colours_compute_month(bureau, when, now)
    return written


def _colours_compute_month(bureau: OrgUnit, month: date, now) -> int:
    """One month's colours of the bureau's communities (upserted); the rows written."""
    start, end = month_window(month)
    communities = list(
        GridArea.objects.filter(
            bureau.subtree_filter("station__"), level=AreaLevel.COMMUNITY
        ).values_list("pk", flat=True)
    )
    if not communities:
        return 0
    counts = dict(
        Incident.objects.filter(
            bureau.subtree_filter("community__station__"),
            occurred_at__gte=_local_midnight(start),
            occurred_at__lt=_local_midnight(end),
        )
        .values("community")
        .annotate(n=Count("id"))
        .values_list("community", "n")
    )
    populations = _populations(bureau, start, end)
    # Each community's latest earlier row (not only last month's: a gap is no confirmation).
    latest_earlier = (
        AreaColour.objects.filter(area=OuterRef("area"), month__lt=month)
        .order_by("-month")
        .values("month")[:1]
    )
    previous = {
        area_id: (signal, colour, when)
        for area_id, signal, colour, when in AreaColour.objects.filter(
            bureau.subtree_filter("area__station__"),
            area__level=AreaLevel.COMMUNITY,
            month=Subquery(latest_earlier),
        ).values_list("area_id", "signal", "colour", "month")
    }
    last_month = month_add(month, -1)
    observed = np.array([counts.get(pk, 0) for pk in communities], dtype=float)
    population = np.array([populations.get(pk, 0.0) for pk in communities], dtype=float)
    result = colour_signals(observed, population)
    none = ("", "", None)
    colours = colour_persist(
        result.signal,
        [previous.get(pk, none)[0] for pk in communities],
        [previous.get(pk, none)[1] for pk in communities],
        [previous.get(pk, none)[2] == last_month for pk in communities],
    )
    columns = {
        "population": np.rint(population).astype(int).tolist(),
        "observed": observed.astype(int).tolist(),
        "expected": result.expected.tolist(),
        "rate": result.rate.tolist(),
        "smoothed_rate": result.smoothed_rate.tolist(),
        "ratio": result.ratio.tolist(),
        "p_value": result.p_value.tolist(),
        "signal": list(result.signal),
        "colour": list(colours),
    }
    rows = [
        {
            "area": pk,
            "month": month,
            "rule_version": RULE_VERSION,
            "computed_at": now,
            **{name: values[i] for name, values in columns.items()},
        }
        for i, pk in enumerate(communities)
    ]
    _colours_upsert(rows)
    return len(rows)


def colours_bureau_for(unit: OrgUnit) -> OrgUnit:
    """The bureau whose city rate a unit's communities are compared against: the top of its
    tree (the city bureau)."""
    return OrgUnit.objects.get(path=unit.path[: OrgUnit.steplen])


def colours_compute_all(month: date, now=None) -> int:
    """Every city's colours for `month` (the monthly task)."""
    return sum(colours_compute(root, month, now=now) for root in OrgUnit.objects.get_root_nodes())


# --- Reads: the report -----------------------------------------------------------------------


def rule_lines() -> list[str]:
    """The rule in plain Chinese for a leader, with its version."""
    return [
        _("规则版本：%(v)s。") % {"v": RULE_VERSION},
        _(
            "统计口径：每个社区近 12 个月（含当月）的刑事警情数，按实有人口（户籍 + 流动，"
            "取有数据月份的平均数；某月社区没有人口数据时取各居民小组之和，再没有时取各楼栋"
            "之和，不重复相加）折算为每万人年发案率，与全市平均水平比较。"
        ),
        _(
            "平滑：人口少的社区偶然多几起就会显得很高，因此先把各社区的发案率向全市水平"
            "“拉近”（经验贝叶斯平滑），样本越少拉得越多。"
        ),
        _(
            "红色：平滑后发案率不低于全市 1.5 倍，且偶然出现这么多警情的可能小于 1%"
            "（泊松检验 p < 0.01）。"
        ),
        _("橙色：平滑后发案率不低于全市 1.2 倍，或偶然出现的可能小于 5%（p < 0.05）。"),
        _("绿色：其余社区。"),
        _("灰色（样本不足）：按全市发案率预计不到 5 起，或没有人口数据，不评颜色。"),
        _(
            "颜色只在连续两个月得出相同结论后才改变，避免一个月的波动造成颜色来回跳动；"
            "中间缺少某月的结果时，要等连续两个已计算月份的结论相同才改变；"
            "社区第一次评色时直接显示当月结论，样本不足时立即显示灰色。"
        ),
    ]


def confidence_lines() -> list[str]:
    """How sure the colours are, in plain Chinese."""
    return [
        _(
            "p 值是在“该社区与全市发案水平相同”的前提下，偶然出现不少于实际警情数的概率："
            "越小越说明高发不是偶然。"
        ),
        _(
            "“可能范围”为实际发案数与期望数之比的 90% 区间：区间全部高于 1 说明确实高于"
            "全市，跨过 1 说明还不能肯定。"
        ),
        _("在各社区发案水平都与全市相同的模拟中，每个社区每月被误判为红色的概率不超过 1%。"),
    ]


@dataclass
class ColourLine:
    colour: AreaColour
    area: GridArea
    trend: list[tuple[date, str]]  # the last 12 months' colours shown, oldest first ("": none)
    low: float | None
    high: float | None


@dataclass
class ColourReport:
    month: date | None
    months: list[date]
    lines: list[ColourLine] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    observed_total: int = 0
    population_total: int = 0
    focus: list[ColourLine] = field(default_factory=list)  # red, then orange
    focus_observed: int = 0
    focus_population: int = 0
    rule_versions: list[str] = field(default_factory=list)
    computed_at: datetime | None = None

    @property
    def city_rate(self) -> float | None:
        """The city's rate per 10,000 a year that the month's ratios are against."""
        line = next((line for line in self.lines if line.colour.ratio > 0), None)
        return line.colour.smoothed_rate / line.colour.ratio if line else None

    @property
    def focus_share(self) -> float:
        return self.focus_observed / self.observed_total if self.observed_total else 0.0

    @property
    def focus_population_share(self) -> float:
        return self.focus_population / self.population_total if self.population_total else 0.0


def colours_visible_to(user):
    return AreaColour.objects.filter(area_scope_q(user, "area__"), area__level=AreaLevel.COMMUNITY)


def colour_months_visible_to(user) -> list[date]:
    return list(
        colours_visible_to(user).order_by("-month").values_list("month", flat=True).distinct()
    )


def colour_report_for(user, month: date | None = None) -> ColourReport:
    """The colour report of `user`'s communities for `month` (default the latest computed)."""
    months = colour_months_visible_to(user)
    month = month_start(month) if month is not None else (months[0] if months else None)
    report = ColourReport(month=month, months=months)
    if month is None:
        return report
    rows = list(
        colours_visible_to(user)
        .filter(month=month)
        .select_related("area", "area__station")
        .order_by("area__code")
    )
    history: dict[int, dict[date, str]] = defaultdict(dict)
    first = month_add(month, 1 - WINDOW_MONTHS)
    for area_id, when, colour in (
        colours_visible_to(user)
        .filter(month__gte=first, month__lte=month)
        .values_list("area_id", "month", "colour")
    ):
        history[area_id][when] = colour
    trend_months = [month_add(first, i) for i in range(WINDOW_MONTHS)]
    for row in rows:
        low, high = ratio_interval(row.observed, row.expected)
        report.lines.append(
            ColourLine(
                colour=row,
                area=row.area,
                trend=[(m, history[row.area_id].get(m, "")) for m in trend_months],
                low=low,
                high=high,
            )
        )
    report.lines.sort(key=lambda line: (COLOUR_ORDER[line.colour.colour], -line.colour.ratio))
    report.counts = {c: 0 for c in COLOUR_ORDER}
    for line in report.lines:
        report.counts[line.colour.colour] += 1
    report.observed_total = sum(line.colour.observed for line in report.lines)
    report.population_total = sum(line.colour.population for line in report.lines)
    report.focus = [
        line for line in report.lines if line.colour.colour in (Colour.RED, Colour.ORANGE)
    ]
    report.focus_observed = sum(line.colour.observed for line in report.focus)
    report.focus_population = sum(line.colour.population for line in report.focus)
    report.rule_versions = sorted({line.colour.rule_version for line in report.lines})
    report.computed_at = max((line.colour.computed_at for line in report.lines), default=None)
    return report

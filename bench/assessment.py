"""Assessment benchmark: a year's polls weighted and the annual assessment computed (60 police
stations × 4 waves × 400 respondents, 10,000 posterior draws), and the assessment pages,
against the same figures computed straight from numpy arrays in the same run.

Run from the repository root: `.venv/bin/python bench/assessment.py` (or
`make bench-assessment`); `--quick` runs a tenth of the units (6 stations, the same waves and
respondents per station), so that growth shows.

1. Creates a PostgreSQL database `minyi_bench_assessment_<pid>` on 127.0.0.1:5432 (user
   postgres), migrates it and builds the demo city (at the scale that has enough stations).
   `--units` police stations (default 60) form one peer group (同类单位组) of the city bureau
   (`peer_group_save`). Each station gets population margins (age band, sex,
   registered/floating resident) and `--waves` poll waves (default 4) of `--respondents`
   respondents (default 400), COPYed into the real table. The sample leans old, female and
   registered, as phone polls do, and the answers depend on the stratum, so that raking
   moves the rates; two stations are weak. Each station also gets imported business figures
   for the year (破案率, 追赃率, 受立案规范率). The year's rule is saved and activated by the
   services (`rule_save`, `rule_activate`): the five poll indicators with public weight
   0.55, the three business figures with 0.45, the peer group, the default gate.
2. Measures, in-process, `--repeats` times (default 3):
   - `poll_weigh` of each wave (raking, the weights written, the PollEstimate rows);
   - `assessment_compute` over the waves with `--draws` draws (default 10,000); after the
     first run it recomputes the same assessment, as the 重新计算 button does.
   Then the city supervisor approves and publishes the assessment, and the pages are
   requested through Django's test client, `--requests` times each (default 50) after one
   warm-up request: logged in as the city supervisor, the assessment's detail page (its
   ranking: caterpillar and funnel plots, indicator table, effective share), the assessment
   list and a poll's detail page (its estimates); not logged in, the citizens' published
   ranking.
3. Baseline, same run: the same figures straight from numpy arrays of the respondents (read
   once with psycopg, timed apart): per wave, raking per station
   (`minyi.core.weighting.rake`), the weighted sums and the cell estimates
   (`cell_estimates`); then the sums pooled over the waves, the composite with the business
   figures (`minyi.core.composite.composite`, same draws and seed), the funnel z of pooled
   满意度 and the gate. No Django, no ORM, no rows written. The script then reports, without
   failing, whether both gave the same weights, composites and marks.
4. Prints a table and, last, one summary line:
   `assessment: compute <a> s (aim < 5 s); raw <b> s; ratio <a/b>; weigh <c> s for 4 waves
   (raw <d> s); pages p95 <e> ms (<page>)`, with medians over the repeats; e is the slowest
   page's p95.

The run is bounded (--timeout) and drops the database at the end, on errors and on Ctrl-C
too. `--profile` adds a cProfile of one `poll_weigh` and one `assessment_compute` (before
publishing) and of a few requests of each page.
"""

import argparse
import cProfile
import math
import pstats
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import common
import numpy as np
import psycopg
from psycopg import sql
from scipy.special import expit, logit

YEAR = 2026
STATIONS_PER_SCALE = 47  # police stations in the demo city at scale 1
PEER_GROUP_NAME = "全市派出所（基准测试）"
PUBLIC_WEIGHT = Decimal("0.550")
# Poll indicators (adding up to the public weight) and business figures (the rest).
POLL_WEIGHTS = {
    "satisfaction": Decimal("0.150"),
    "safety": Decimal("0.120"),
    "attitude": Decimal("0.120"),
    "saw_police": Decimal("0.080"),
    "familiarity": Decimal("0.080"),
}
BUSINESS_WEIGHTS = {
    "clearance": Decimal("0.200"),
    "recovery": Decimal("0.100"),
    "case_filing": Decimal("0.150"),
}
INDICATORS = tuple(POLL_WEIGHTS)
# Share of positive answers at an average station, in an average stratum.
BASE_RATE = {
    "saw_police": 0.70,
    "attitude": 0.90,
    "familiarity": 0.45,
    "satisfaction": 0.88,
    "safety": 0.93,
}
NOT_ANSWERED = 0.02  # per question
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
AGE_POPULATION = (0.22, 0.30, 0.28, 0.20)
AGE_SAMPLING = (0.55, 0.85, 1.2, 1.5)  # relative chance of reaching each band
AGE_EFFECT = (-0.35, -0.15, 0.1, 0.3)  # logit: the young are more critical
FEMALE_SAMPLING = 1.25
FLOATING_SAMPLING = 0.5
FLOATING_EFFECT = -0.4
MALE_EFFECT = -0.1
# Business figures: (typical rate, spread on the logit scale, denominator range).
BUSINESS = {
    "clearance": (0.50, 0.35, (200, 1500)),
    "recovery": (0.45, 0.40, (100, 800)),
    "case_filing": (0.95, 0.50, (300, 2000)),
}


# --- Data ------------------------------------------------------------------------------------


def _dsn(db_name: str) -> dict:
    return {"host": common.PG_HOST, "port": common.PG_PORT, "user": common.PG_USER,
            "dbname": db_name}  # fmt: skip


@dataclass
class World:
    """What the generator made, by id."""

    unit_ids: list[int]
    group_id: int
    poll_ids: list[int]
    rule_id: int
    admin_id: int
    period: tuple[date, date]
    rows: int = 0
    margins: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)
    business: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def wave_dates(wave: int, waves: int) -> tuple[date, date]:
    """Fielding dates of a wave: waves spread evenly over the year, three weeks each."""
    month = 1 + (wave - 1) * 12 // waves
    start = date(YEAR, month, 5)
    return start, start + timedelta(days=20)


def migrate_and_build_city(units: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from minyi.demo.city import build_demo_city

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    common.log(f"migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    city = build_demo_city(scale=math.ceil(units / STATIONS_PER_SCALE))
    common.log(
        f"demo city: {city.units} units, {city.officers} officers "
        f"({time.perf_counter() - started:.1f} s)"
    )


def build_world(args) -> World:
    """Peer group, margins, polls and the active rule (the respondents come next)."""
    from minyi.assessment.services import (
        IndicatorSpec,
        peer_group_save,
        rule_activate,
        rule_save,
    )
    from minyi.demo.city_plan import ROOT_CODE
    from minyi.orgs.models import OrgUnit, User
    from minyi.polls.models import PollSource, PopulationMargin
    from minyi.polls.services import poll_create

    rng = random.Random(f"{args.seed}:world")  # noqa: S311 - synthetic data, deterministic
    root = OrgUnit.objects.get(code=ROOT_CODE)
    stations = list(
        OrgUnit.objects.filter(kind="police_station", is_active=True).order_by("path")[: args.units]
    )
    if len(stations) < args.units:
        raise common.BenchError(f"the demo city has {len(stations)} stations, need {args.units}")
    admin = User.objects.get(username="city_admin")
    group = peer_group_save(actor=admin, owner=root, name=PEER_GROUP_NAME, members=stations)

    margins: dict[int, dict[str, dict[str, int]]] = {}
    rows = []
    for unit in stations:
        total = rng.randint(20_000, 120_000)
        ages = [max(0.05, share * rng.uniform(0.8, 1.2)) for share in AGE_POPULATION]
        registered = rng.uniform(0.45, 0.85)
        female = rng.uniform(0.47, 0.51)
        age_total = sum(ages)
        by_age = {b: round(total * a / age_total) for b, a in zip(AGE_BANDS, ages, strict=True)}
        unit_margins = {
            "age_band": by_age,
            "sex": {"m": round(total * (1 - female)), "f": round(total * female)},
            "residence": {
                "registered": round(total * registered),
                "floating": round(total * (1 - registered)),
            },
        }
        margins[unit.pk] = unit_margins
        for dimension, categories in unit_margins.items():
            for category, population in categories.items():
                rows.append(
                    PopulationMargin(
                        unit=unit,
                        year=YEAR,
                        dimension=dimension,
                        category=category,
                        population=population,
                    )
                )
    PopulationMargin.objects.bulk_create(rows)

    polls = []
    for wave in range(1, args.waves + 1):
        start, end = wave_dates(wave, args.waves)
        polls.append(
            poll_create(
                actor=admin,
                unit=root,
                title=f"{YEAR}年第{wave}轮民意测评",
                year=YEAR,
                wave=wave,
                fielded_from=start,
                fielded_to=end,
                pollster="第三方测评机构",
                source=PollSource.IMPORTED,
            )
        )

    specs = [IndicatorSpec(code=c, weight=w) for c, w in POLL_WEIGHTS.items()]
    specs += [IndicatorSpec(code=c, weight=w) for c, w in BUSINESS_WEIGHTS.items()]
    rule = rule_save(
        actor=admin, owner=root, year=YEAR, indicators=specs, peer_groups=[group], note="基准测试"
    )
    rule = rule_activate(actor=admin, rule=rule)
    if rule.public_weight != PUBLIC_WEIGHT:
        raise common.BenchError(
            f"rule public weight {rule.public_weight}, expected {PUBLIC_WEIGHT}"
        )
    return World(
        unit_ids=[u.pk for u in stations],
        group_id=group.pk,
        poll_ids=[p.pk for p in polls],
        rule_id=rule.pk,
        admin_id=admin.pk,
        period=(date(YEAR, 1, 1), date(YEAR, 12, 31)),
        margins=margins,
    )


def load_respondents(db_name: str, world: World, args) -> int:
    """`--respondents` per station and wave, COPYed into polls_pollrespondent. Each station
    has its own level (two weak ones), each indicator its own deviation from it; the young,
    floating residents and men answer a little more critically and are under-sampled."""
    from minyi.polls.models import PollRespondent

    rng = np.random.default_rng(args.seed)
    n_units = len(world.unit_ids)
    level = rng.normal(0, 0.25, n_units)
    level[rng.choice(n_units, size=min(2, n_units), replace=False)] = -0.8
    deviation = rng.normal(0, 0.15, (n_units, len(INDICATORS)))
    base = np.array([logit(BASE_RATE[i]) for i in INDICATORS])
    age_effect = np.array(AGE_EFFECT)
    columns = ("poll_id", "unit_id", "respondent_ref", "age_band", "sex", "residence",
               *INDICATORS, "comment", "answered_on")  # fmt: skip
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(PollRespondent._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    n = args.respondents
    count = 0
    with (
        psycopg.connect(**_dsn(db_name)) as conn,
        conn.cursor() as cur,
        cur.copy(statement) as copy,
    ):
        for wave_index, poll_id in enumerate(world.poll_ids):
            start, end = wave_dates(wave_index + 1, len(world.poll_ids))
            days = (end - start).days + 1
            wave_effect = rng.normal(0, 0.05)
            for u, unit_id in enumerate(world.unit_ids):
                m = world.margins[unit_id]
                age_pop = np.array([m["age_band"][b] for b in AGE_BANDS], dtype=float)
                age_p = age_pop * AGE_SAMPLING
                age = rng.choice(len(AGE_BANDS), size=n, p=age_p / age_p.sum())
                f_pop = m["sex"]["f"] / (m["sex"]["f"] + m["sex"]["m"])
                female = rng.random(n) < f_pop * FEMALE_SAMPLING / (
                    f_pop * FEMALE_SAMPLING + 1 - f_pop
                )
                fl_pop = m["residence"]["floating"] / sum(m["residence"].values())
                floating = rng.random(n) < fl_pop * FLOATING_SAMPLING / (
                    fl_pop * FLOATING_SAMPLING + 1 - fl_pop
                )
                score = (
                    base[None, :]
                    + level[u]
                    + deviation[u][None, :]
                    + wave_effect
                    + age_effect[age][:, None]
                    + FLOATING_EFFECT * floating[:, None]
                    + MALE_EFFECT * (~female)[:, None]
                )
                positive = rng.random(score.shape) < expit(score)
                missing = rng.random(score.shape) < NOT_ANSWERED
                answered = rng.integers(0, days, n)
                for i in range(n):
                    answers = [
                        None if missing[i, j] else bool(positive[i, j])
                        for j in range(len(INDICATORS))
                    ]
                    copy.write_row((
                            poll_id, unit_id, f"B{wave_index + 1}-{unit_id}-{i:05d}",
                            AGE_BANDS[age[i]], "f" if female[i] else "m",
                            "floating" if floating[i] else "registered", *answers, "",
                            start + timedelta(days=int(answered[i])),
                        ))  # fmt: skip
                    count += 1
    with psycopg.connect(**_dsn(db_name), autocommit=True) as conn:
        conn.execute(
            sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(PollRespondent._meta.db_table))
        )
    return count


def load_business(world: World, args) -> None:
    """The imported business figures of each station for the year."""
    from minyi.assessment.models import BusinessFigure, FigureSource

    rng = np.random.default_rng(args.seed + 1)
    rows = []
    for code, (typical, spread, (low, high)) in BUSINESS.items():
        world.business[code] = []
        for unit_id in world.unit_ids:
            denominator = int(rng.integers(low, high))
            rate = float(expit(logit(typical) + rng.normal(0, spread)))
            numerator = int(rng.binomial(denominator, rate))
            world.business[code].append((numerator, denominator))
            rows.append(
                BusinessFigure(
                    unit_id=unit_id,
                    code=code,
                    period_start=world.period[0],
                    period_end=world.period[1],
                    numerator=numerator,
                    denominator=denominator,
                    source=FigureSource.IMPORTED,
                )
            )
    BusinessFigure.objects.bulk_create(rows)


# --- The same figures straight from numpy arrays -----------------------------------------------


@dataclass
class Arrays:
    """The respondents as arrays (one entry a respondent), read once with psycopg."""

    poll: np.ndarray  # index into world.poll_ids
    unit: np.ndarray  # index into world.unit_ids
    strata: list[dict[str, str]]
    answers: np.ndarray  # respondents × indicators: 1 positive, 0 negative, -1 not answered


def read_arrays(db_name: str, world: World) -> Arrays:
    from minyi.polls.models import PollRespondent

    poll_index = {pk: i for i, pk in enumerate(world.poll_ids)}
    unit_index = {pk: i for i, pk in enumerate(world.unit_ids)}
    statement = sql.SQL(
        "SELECT poll_id, unit_id, age_band, sex, residence, {} FROM {} "
        "ORDER BY poll_id, unit_id, id"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, INDICATORS)),
        sql.Identifier(PollRespondent._meta.db_table),
    )
    with psycopg.connect(**_dsn(db_name)) as conn:
        rows = conn.execute(statement).fetchall()
    code = {True: 1, False: 0, None: -1}
    return Arrays(
        poll=np.array([poll_index[r[0]] for r in rows]),
        unit=np.array([unit_index[r[1]] for r in rows]),
        strata=[{"age_band": r[2], "sex": r[3], "residence": r[4]} for r in rows],
        answers=np.array([[code[v] for v in r[5:]] for r in rows], dtype=np.int8),
    )


@dataclass
class RawWave:
    weights: np.ndarray  # per respondent of the wave
    cells: dict[str, list]  # indicator -> WeightedCell per unit


def raw_weigh(arrays: Arrays, world: World, wave: int, *, min_n_eff: float):
    """One wave as poll_weigh computes it: raking per station, the weighted sums per station
    and indicator, and the peer group's cell estimates per indicator (their default
    draws, as poll_weigh)."""
    from minyi.core.weighting import WeightedCell, cell_estimates, rake

    in_wave = np.flatnonzero(arrays.poll == wave)
    weights = np.empty(len(in_wave))
    cells: dict[str, list] = {code: [] for code in INDICATORS}
    for u, unit_id in enumerate(world.unit_ids):
        rows = in_wave[arrays.unit[in_wave] == u]
        w = np.asarray(rake([arrays.strata[r] for r in rows], world.margins[unit_id]))
        weights[np.searchsorted(in_wave, rows)] = w
        for j, code in enumerate(INDICATORS):
            y = arrays.answers[rows, j]
            answered = y >= 0
            wa = w[answered]
            cells[code].append(
                WeightedCell(
                    key=unit_id,
                    n=int(answered.sum()),
                    sum_w=float(wa.sum()),
                    sum_w2=float((wa**2).sum()),
                    sum_wy=float(wa[y[answered] == 1].sum()),
                )
            )
    estimates = {code: cell_estimates(cells[code], min_n_eff=min_n_eff) for code in INDICATORS}
    return RawWave(weights=weights, cells=cells), estimates


@dataclass(frozen=True)
class Settings:
    """What assessment_compute takes from the settings, the rule and the assessment, so that
    the raw computation does the same (the same seeds give the same draws)."""

    poll_min_n_eff: float  # settings.POLL_MIN_N_EFF: cells below are not ranked
    gate_min_n_eff: float  # the rule's
    p_gate: float
    z_gate: float
    draws: int
    funnel_draws: int
    seed: int  # of the composite
    funnel_seed: int


def raw_assessment(waves: list[RawWave], world: World, conf: Settings):
    """The assessment from the waves' weighted sums: pooled cells per station and indicator,
    the composite with the business figures (poll indicators first, each kind in code
    order, as assessment_compute), the funnel z of pooled 满意度 and the gate."""
    from minyi.core.composite import IndicatorInput, accountability_gate, composite
    from minyi.core.weighting import WeightedCell, cell_estimates

    pooled: dict[str, list] = {}
    for code in INDICATORS:
        pooled[code] = [
            WeightedCell(
                key=unit_id,
                n=sum(w.cells[code][u].n for w in waves),
                sum_w=sum(w.cells[code][u].sum_w for w in waves),
                sum_w2=sum(w.cells[code][u].sum_w2 for w in waves),
                sum_wy=sum(w.cells[code][u].sum_wy for w in waves),
            )
            for u, unit_id in enumerate(world.unit_ids)
        ]
    n_eff = {
        code: np.array([c.sum_w**2 / c.sum_w2 if c.sum_w2 else 0.0 for c in cells])
        for code, cells in pooled.items()
    }
    rate = {
        code: np.array([c.sum_wy / c.sum_w if c.sum_w else 0.0 for c in cells])
        for code, cells in pooled.items()
    }
    inputs = [
        IndicatorInput(
            code=code,
            weight=float(POLL_WEIGHTS[code]),
            higher_is_better=True,
            public=True,
            successes=rate[code] * n_eff[code],
            trials=n_eff[code],
        )
        for code in sorted(INDICATORS)
    ]
    inputs += [
        IndicatorInput(
            code=code,
            weight=float(BUSINESS_WEIGHTS[code]),
            higher_is_better=True,
            public=False,
            successes=[s for s, _n in world.business[code]],
            trials=[n for _s, n in world.business[code]],
        )
        for code in sorted(BUSINESS_WEIGHTS)
    ]
    smallest = np.min(np.vstack(list(n_eff.values())), axis=0)
    result = composite(
        inputs, eligible=smallest >= conf.poll_min_n_eff, draws=conf.draws, seed=conf.seed
    )
    satisfaction = cell_estimates(
        pooled["satisfaction"],
        min_n_eff=conf.poll_min_n_eff,
        draws=conf.funnel_draws,
        seed=conf.funnel_seed,
    )
    ranked = sum(1 for u in result.units if u.raw_rank is not None)
    marked = [
        u.raw_rank is not None
        and accountability_gate(
            p_bottom3=u.p_bottom3,
            z_adjusted=s.z_adjusted,
            n_eff=float(ne),
            p_gate=conf.p_gate,
            z_gate=conf.z_gate,
            min_n_eff=conf.gate_min_n_eff,
            peers=ranked,  # as assessment_compute: no P(bottom 3) arm below 20 ranked peers
        )
        for u, s, ne in zip(result.units, satisfaction, smallest, strict=True)
    ]
    return result, marked


# --- Measurements ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as bench/dashboard.py): no interpolation between requests."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Timings:
    """Seconds per call of each service and raw step; milliseconds per page request."""

    steps: dict[str, list[float]] = field(default_factory=dict)
    pages: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.steps.setdefault(name, []).append(seconds)


WEIGH, RAW_WEIGH = "poll_weigh (one wave)", "raw: rake + cell estimates (one wave)"
COMPUTE, RAW_COMPUTE = "assessment_compute", "raw: pooled sums + composite + gate"
READ = "raw: respondents read into numpy arrays"


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def _assessment_kwargs(world: World, draws: int, label: str) -> dict:
    from minyi.assessment.models import AssessmentRule
    from minyi.orgs.models import User
    from minyi.polls.models import Poll

    return {
        "rule": AssessmentRule.objects.get(pk=world.rule_id),
        "label": label,
        "period_start": world.period[0],
        "period_end": world.period[1],
        "polls": list(Poll.objects.filter(pk__in=world.poll_ids).order_by("wave")),
        "actor": User.objects.get(pk=world.admin_id),
        "draws": draws,
    }


def measure_services(args, world: World, arrays: Arrays, timings: Timings):
    """poll_weigh of every wave and assessment_compute, `--repeats` times, each beside its
    raw counterpart (alternating, so that neither gains from the other's warm caches).
    assessment_compute recomputes the same assessment in place after the first run, as a
    person pressing 重新计算 does. Returns the assessment (kept for the pages) and the last
    raw results."""
    from django.conf import settings

    from minyi.assessment import compute
    from minyi.orgs.models import User
    from minyi.polls.models import Poll
    from minyi.polls.services import poll_weigh

    admin = User.objects.get(pk=world.admin_id)
    poll_min = float(settings.POLL_MIN_N_EFF)
    raw_waves: list[RawWave] = []
    assessment = None
    raw_result = None
    for repeat in range(args.repeats):
        raw_waves = []
        for wave, poll_id in enumerate(world.poll_ids):
            poll = Poll.objects.get(pk=poll_id)
            _result, seconds = _timed(lambda poll=poll: poll_weigh(poll=poll, actor=admin))
            timings.add(WEIGH, seconds)
            (raw_wave, _estimates), seconds = _timed(
                lambda wave=wave: raw_weigh(arrays, world, wave, min_n_eff=poll_min)
            )
            timings.add(RAW_WEIGH, seconds)
            raw_waves.append(raw_wave)
        kwargs = _assessment_kwargs(world, args.draws, f"{YEAR}年度综合考评")
        assessment, seconds = _timed(lambda kwargs=kwargs: compute.assessment_compute(**kwargs))
        timings.add(COMPUTE, seconds)
        rule = kwargs["rule"]
        conf = Settings(
            poll_min_n_eff=poll_min,
            gate_min_n_eff=float(rule.min_n_eff),
            p_gate=rule.p_bottom3_gate,
            z_gate=rule.z_gate,
            draws=args.draws,
            funnel_draws=compute.FUNNEL_DRAWS,
            seed=assessment.pk * 7919 + world.group_id,
            funnel_seed=assessment.pk,
        )
        raw_result, seconds = _timed(
            lambda waves=raw_waves, conf=conf: raw_assessment(waves, world, conf)
        )
        timings.add(RAW_COMPUTE, seconds)
        weighed = sum(timings.steps[WEIGH][-len(world.poll_ids) :])
        common.log(
            f"repeat {repeat + 1}: poll_weigh {weighed:.2f} s for {len(world.poll_ids)} waves; "
            f"assessment_compute {timings.steps[COMPUTE][-1]:.2f} s; "
            f"raw {timings.steps[RAW_COMPUTE][-1]:.2f} s"
        )
    return assessment, raw_waves, raw_result


def compare(world: World, assessment, raw_waves: list[RawWave], raw_result, timings) -> None:
    """Do the service and the raw computation give the same figures? Reported, not asserted:
    the weights of every respondent, each station's composite and who is marked last."""
    from minyi.assessment.models import AssessmentResult
    from minyi.polls.models import PollRespondent

    gaps = []
    for wave, poll_id in enumerate(world.poll_ids):
        stored = np.array(
            PollRespondent.objects.filter(poll_id=poll_id)
            .order_by("unit_id", "id")
            .values_list("weight", flat=True),
            dtype=float,
        )
        mine = raw_waves[wave].weights
        gaps.append(
            float(np.nanmax(np.abs(stored - mine))) if len(stored) == len(mine) else math.inf
        )
    result, marked = raw_result
    by_unit = {r.unit_id: r for r in AssessmentResult.objects.filter(assessment=assessment)}
    composite_gap = 0.0
    marked_service, marked_raw, missing = [], [], 0
    for unit_id, raw, raw_marked in zip(world.unit_ids, result.units, marked, strict=True):
        row = by_unit.get(unit_id)
        if row is None:
            missing += 1
            continue
        if row.composite is not None and raw.composite is not None:
            composite_gap = max(composite_gap, abs(row.composite - raw.composite))
        elif (row.composite is None) != (raw.composite is None):
            composite_gap = math.inf
        if row.marked_last:
            marked_service.append(unit_id)
        if raw_marked:
            marked_raw.append(unit_id)
    stored = (assessment.shares or {}).get(str(world.group_id), {}).get("effective", {})
    timings.notes += [
        f"service vs raw: largest weight difference {max(gaps):.2g}; largest composite "
        f"difference {composite_gap:.2g}; stations without a result {missing}; marked last "
        f"{len(marked_service)} (raw {len(marked_raw)}"
        f"{', same' if marked_service == marked_raw else ', DIFFERENT'})",
        f"public opinion: nominal weight {result.nominal['public']:.2f}, effective share of "
        f"the composite's variance {result.effective['public']:.3f} (raw), "
        f"{stored.get('public', math.nan):.3f} (stored by assessment_compute)",
    ]


# --- Pages -------------------------------------------------------------------------------------


# (page, URL name, the object it shows, query string): as the city supervisor sees them, and
# the citizens' page of the published ranking. The assessment's detail page is its ranking:
# the peer group's caterpillar plot (composite and rank intervals), funnel plot, indicator
# table and public opinion's effective share.
PAGE_ROUTES = (
    ("assessment detail (ranking)", "assessment:assessment_detail", "assessment", "group"),
    ("assessment list", "assessment:assessment_list", None, ""),
    ("poll detail (estimates)", "polls:poll_detail", "poll", "tab=estimates"),
    ("public ranking (citizens)", "portal:ranking_detail", "assessment", ""),
)
PAGE_USER = "city_supervisor"
PUBLIC_PAGES = {"public ranking (citizens)"}  # requested without logging in


def page_urls(world: World, assessment, timings: Timings) -> dict[str, str]:
    """Page -> url, for the pages that exist; a missing one is noted."""
    from django.urls import NoReverseMatch, reverse

    urls = {}
    for page, name, shows, query in PAGE_ROUTES:
        args = {"assessment": [assessment.pk], "poll": [world.poll_ids[-1]], None: []}[shows]
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            timings.notes.append(f"page {page}: no URL named {name} yet, not measured")
            continue
        if query == "group":
            query = f"group={world.group_id}"
        urls[page] = f"{url}?{query}" if query else url
    return urls


def measure_pages(args, world: World, assessment, timings: Timings) -> None:
    """Each page `--requests` times in turn, after one warm-up request each, through
    Django's test client (in-process: no HTTP server, the whole middleware and view). Every
    answer must be 200 and the ranking must list every station of the peer group."""
    from django.test import Client
    from django.utils.html import escape

    from minyi.orgs.models import OrgUnit, User

    urls = page_urls(world, assessment, timings)
    staff, citizen = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    staff.force_login(User.objects.get(username=PAGE_USER))

    def get(page: str) -> tuple[float, bytes]:
        url = urls[page]
        client = citizen if page in PUBLIC_PAGES else staff
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise common.BenchError(
                f"GET {url}: HTTP {response.status_code}\n"
                f"{response.content[:400].decode(errors='replace')}"
            )
        return elapsed, response.content

    codes = list(OrgUnit.objects.filter(pk__in=world.unit_ids).values_list("code", flat=True))
    for page, url in urls.items():
        _ms, body = get(page)
        if page.startswith("assessment detail"):
            shown = sum(f'data-unit="{escape(code)}"'.encode() in body for code in codes)
            if shown < len(codes):
                raise common.BenchError(f"{url} shows {shown} of the {len(codes)} stations")
    for _ in range(args.requests):
        for page in urls:
            timings.pages.setdefault(page, []).append(get(page)[0])
    if urls:
        timings.notes.append(
            f"pages (staff as {PAGE_USER}, citizens not logged in): "
            + "; ".join(f"{p} {u}" for p, u in urls.items())
        )


# --- Profile -----------------------------------------------------------------------------------


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


PROFILED_REQUESTS = 5  # per page


def _profile(label: str, call) -> None:
    """Run `call` under cProfile and print its SQL time and statements, the project's
    functions by cumulative time and the top functions by own time."""
    from django.db import connection

    statements: list[float] = []

    def record(execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            statements.append(time.perf_counter() - started)

    profiler = cProfile.Profile()
    with connection.execute_wrapper(record):
        started = time.perf_counter()
        profiler.enable()
        call()
        profiler.disable()
        total = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats
    print(
        f"\n{label}: {total:.2f} s profiled, of which SQL {sum(statements):.2f} s in "
        f"{len(statements)} statements; top functions by cumulative time (project code):"
    )
    ranked = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    project = [item for item in ranked if "/minyi/" in item[0][0]][:15]
    for (path, line, name), (_cc, calls, tt, ct, _callers) in project:
        print(f"  {ct:7.3f} s cum {tt:7.3f} s own {calls:7}×  {_short(path)}:{line}({name})")
    print("  top functions by own time:")
    for (path, line, name), (_cc, calls, tt, ct, _callers) in sorted(
        stats.items(), key=lambda item: item[1][2], reverse=True
    )[:15]:
        print(f"  {tt:7.3f} s own {ct:7.3f} s cum {calls:7}×  {_short(path)}:{line}({name})")


def profile_services(args, world: World) -> None:
    """One poll_weigh and one assessment_compute under cProfile, after the measurements
    (the profiler slows Python-heavy code down: compare with the unprofiled figures)."""
    from minyi.assessment.compute import assessment_compute
    from minyi.orgs.models import User
    from minyi.polls.models import Poll
    from minyi.polls.services import poll_weigh

    admin = User.objects.get(pk=world.admin_id)
    poll = Poll.objects.get(pk=world.poll_ids[0])
    kwargs = _assessment_kwargs(world, args.draws, f"{YEAR}年度综合考评")
    print("\nProfile (cProfile, in-process):")
    _profile("poll_weigh, one wave", lambda: poll_weigh(poll=poll, actor=admin))
    _profile("assessment_compute", lambda: assessment_compute(**kwargs))


def profile_pages(world: World, assessment) -> None:
    """PROFILED_REQUESTS requests of each page under cProfile."""
    from django.test import Client

    from minyi.orgs.models import User

    staff, citizen = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    staff.force_login(User.objects.get(username=PAGE_USER))
    for page, url in page_urls(world, assessment, Timings()).items():
        client = citizen if page in PUBLIC_PAGES else staff
        _profile(
            f"page {page}, {PROFILED_REQUESTS} requests",
            lambda client=client, url=url: [client.get(url) for _ in range(PROFILED_REQUESTS)],
        )


def publish(assessment):
    """Approve and publish the assessment as the city supervisor, so that citizens see it."""
    from minyi.assessment.services import assessment_approve, assessment_publish
    from minyi.orgs.models import User

    supervisor = User.objects.get(username=PAGE_USER)
    assessment = assessment_approve(actor=supervisor, assessment=assessment)
    return assessment_publish(actor=supervisor, assessment=assessment)


# --- Run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    machine_at_start: str
    world: World
    build: dict[str, float]
    timings: Timings


def run(args, db_name: str) -> Result:
    at_start = common.machine_at_start()
    build: dict[str, float] = {}
    started = time.perf_counter()
    migrate_and_build_city(args.units)
    build["migrate and demo city"] = time.perf_counter() - started
    world, build["peer group, margins, polls, rule"] = _timed(lambda: build_world(args))
    world.rows, build["respondents (COPY)"] = _timed(lambda: load_respondents(db_name, world, args))
    _none, build["business figures"] = _timed(lambda: load_business(world, args))
    common.log(f"data ready: {world.rows:,} respondents")
    common.checkpoint()
    timings = Timings()
    arrays, seconds = _timed(lambda: read_arrays(db_name, world))
    timings.add(READ, seconds)
    assessment, raw_waves, raw_result = measure_services(args, world, arrays, timings)
    compare(world, assessment, raw_waves, raw_result, timings)
    if args.profile:  # before publishing: a published assessment is never recomputed
        profile_services(args, world)
    assessment = publish(assessment)
    measure_pages(args, world, assessment, timings)
    if args.profile:
        profile_pages(world, assessment)
    return Result(at_start, world, build, timings)


def print_report(result: Result, args) -> None:
    common.print_heading(result.machine_at_start)
    world, timings = result.world, result.timings
    print(
        f"{len(world.unit_ids)} police stations in one peer group × {len(world.poll_ids)} waves × "
        f"{args.respondents} respondents = {world.rows:,} respondents; "
        f"{len(world.business)} business figures per station; rule: public weight "
        f"{PUBLIC_WEIGHT}; {args.draws:,} draws; {args.repeats} repeats; pages in-process "
        f"(Django test client), {args.requests} requests each"
    )
    print("build: " + "; ".join(f"{k} {v:.1f} s" for k, v in result.build.items()))
    print(f"{'':<44} {'n':>4} {'median s':>9} {'max s':>8}")
    for name, values in timings.steps.items():
        print(f"{name:<44} {len(values):>4} {statistics.median(values):>9.3f} {max(values):>8.3f}")
    waves = len(world.poll_ids)
    weigh_all = statistics.median(timings.steps[WEIGH]) * waves
    compute = statistics.median(timings.steps[COMPUTE])
    raw = statistics.median(timings.steps[RAW_COMPUTE])
    raw_weigh_all = statistics.median(timings.steps[RAW_WEIGH]) * waves
    print(
        f"{'whole assessment (weigh all waves + compute)':<44} {'':>4} "
        f"{weigh_all + compute:>9.3f}   (raw {raw_weigh_all + raw:.3f})"
    )
    print(f"{'':<44} {'n':>4} {'p50 ms':>9} {'p95 ms':>8} {'max ms':>8}")
    for name, values in timings.pages.items():
        print(
            f"{'page: ' + name:<44} {len(values):>4} {percentile(values, 0.5):>9.1f} "
            f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}"
        )
    for note in timings.notes:
        print(note)
    pages = "none measured"
    if timings.pages:
        worst = max(timings.pages, key=lambda name: percentile(timings.pages[name], 0.95))
        pages = f"{percentile(timings.pages[worst], 0.95):.0f} ms ({worst})"
    print(
        f"assessment: compute {compute:.2f} s (aim < 5 s); raw {raw:.2f} s; ratio "
        f"{compute / raw:.1f}; weigh {weigh_all:.2f} s for {waves} waves (raw "
        f"{raw_weigh_all:.2f} s); pages p95 {pages}",
        flush=True,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=60, help="police stations [60]")
    parser.add_argument("--waves", type=int, default=4, help="poll waves [4]")
    parser.add_argument("--respondents", type=int, default=400,
                        help="respondents per station and wave [400]")  # fmt: skip
    parser.add_argument("--draws", type=int, default=10_000,
                        help="posterior draws of the assessment [10000]")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="runs of each computation [3]")
    parser.add_argument("--requests", type=int, default=50, help="requests per page [50]")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth: 6 stations, 20 requests per page")  # fmt: skip
    parser.add_argument("--timeout", type=int, default=900, help="abort after seconds [900]")
    parser.add_argument("--seed", type=int, default=20261124, help="data generator seed")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the services and the pages")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        args.units = max(2, args.units // 10)
        args.requests = min(args.requests, 20)
    if not 2 <= args.units <= 50 * STATIONS_PER_SCALE or not 1 <= args.waves <= 12:
        parser.error(f"need 2 <= --units <= {50 * STATIONS_PER_SCALE} and 1 <= --waves <= 12")
    if min(args.respondents, args.draws, args.repeats, args.requests) < 1:
        parser.error("--respondents, --draws, --repeats and --requests must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench_assessment", args.timeout) as session:
        session.create_database()
        common.configure_environment(session.db_name, {"MINYI_SMS_BACKEND": "console"})
        result = run(args, session.db_name)
    if result is not None:
        print_report(result, args)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

"""Colours benchmark (三色管理): `colours_compute(city, month)` for 5,000 communities against
a raw SQL count of the same incidents by community, in the same run.

Run from the repository root: `.venv/bin/python bench/colours.py` (or `make bench-colours`);
`--tenth` for 500 communities.

1. Creates a PostgreSQL database `minyi_bench_colours_<pid>` on 127.0.0.1:5432 (user postgres)
   and migrates it (no demo city). A city bureau with `--stations` stations (default 50) and
   `--communities` communities (default 5,000) spread over them.
2. Each community gets 12 monthly populations (2,000–20,000 residents, 70% registered) for the
   12 months ending with November 2026, and a Poisson number of incidents over those months
   (about 30 a year per 10,000 residents, times a Gamma(4, 0.25) risk of its own), seeded.
   Populations and incidents are written with `COPY … FROM STDIN`.
3. `colours_compute(city, month)` (database reads, statistics, upsert of the colours), best of
   `--repeats` (default 3). Baseline, best of as many: `SELECT community_id, count(*) FROM
   <Incident table> WHERE occurred_at >= … AND occurred_at < … GROUP BY community_id` over the
   same window (psycopg, fetchall). Also the numpy part alone: `colour_signals` on the arrays.
4. Prints the table and, last, one summary line:
   `colours: <n> communities in <s> s (aim < 2 s); baseline <b> s; ratio <s/b>`
   (the numpy part is a row of the table).

The run is bounded (--timeout); the database is dropped at the end, on error and on Ctrl-C
too. Exit status 0 done, 2 timed out, 130 interrupted.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime

import common
import numpy as np

MONTH = date(2026, 11, 1)
INCIDENTS_PER_10K = 30  # a year
CATEGORIES = ("theft", "burglary", "fraud", "assault", "other")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--communities", type=int, default=5000)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tenth", action="store_true", help="a tenth of the communities")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args(argv)
    if args.tenth:
        args.communities = max(1, args.communities // 10)
    args.stations = max(1, min(args.stations, args.communities))
    return args


@dataclass
class Result:
    machine: str
    args: argparse.Namespace
    communities: int = 0
    incidents: int = 0
    load_seconds: float = 0.0
    rows_written: int = 0
    compute_seconds: float = 0.0
    raw_seconds: float = 0.0
    raw_groups: int = 0
    numpy_seconds: float = 0.0


def build(args, rng: np.random.Generator):
    """The city, its stations and communities; populations and incidents by COPY. Returns
    (city, observed counts, mean populations) in the order of the communities' ids."""
    import psycopg
    from django.conf import settings
    from django.db.models import F
    from django.utils import timezone

    from minyi.community.colours import _local_midnight, month_add, month_window
    from minyi.community.models import AreaLevel, AreaPopulation, GridArea, Incident
    from minyi.orgs.choices import UnitKind
    from minyi.orgs.models import OrgUnit

    city = OrgUnit.objects.add_root(
        {"name": "基准市公安局", "code": "B000", "kind": UnitKind.CITY_BUREAU}
    )
    stations = [
        OrgUnit.objects.add_child(
            city,
            {
                "name": f"基准{k + 1}派出所",
                "code": f"B{k + 1:03d}",
                "kind": UnitKind.POLICE_STATION,
            },
        )
        for k in range(args.stations)
    ]
    n = args.communities
    GridArea.objects.bulk_create(
        [
            GridArea(
                station=stations[i % len(stations)],
                level=AreaLevel.COMMUNITY,
                code=f"BC{i:05d}",
                name=f"基准社区{i}",
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    GridArea.objects.update(community=F("pk"))
    ids = list(GridArea.objects.order_by("pk").values_list("pk", flat=True))

    start, end = month_window(MONTH)
    months = [month_add(start, k) for k in range(12)]
    monthly = rng.integers(2000, 20_001, size=(n, 12))  # residents per community and month
    registered = np.rint(monthly * 0.7).astype(int)
    floating = monthly - registered
    population = monthly.mean(axis=1)
    risk = rng.gamma(4, 0.25, n)
    counts = rng.poisson(population * INCIDENTS_PER_10K / 10_000 * risk)
    t0 = _local_midnight(start).timestamp()
    t1 = _local_midnight(end).timestamp()
    moments = rng.uniform(t0, t1, counts.sum())
    categories = rng.integers(0, len(CATEGORIES), counts.sum())
    created = timezone.now()
    tz = timezone.get_current_timezone()

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
    ) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                f"COPY {AreaPopulation._meta.db_table} (area_id, month, registered, floating)"
                " FROM STDIN"
            ) as copy,
        ):
            for i, pk in enumerate(ids):
                for k, month in enumerate(months):
                    copy.write_row((pk, month, int(registered[i, k]), int(floating[i, k])))
        k = 0
        with (
            conn.cursor() as cur,
            cur.copy(
                f"COPY {Incident._meta.db_table} (area_id, community_id, category, occurred_at,"
                " source, external_id, created_at) FROM STDIN"
            ) as copy,
        ):
            for pk, count in zip(ids, counts, strict=True):
                for _ in range(count):
                    at = datetime.fromtimestamp(float(moments[k]), tz)
                    copy.write_row(
                        (pk, pk, CATEGORIES[categories[k]], at, "bench", f"B{k:08d}", created)
                    )
                    k += 1
        conn.commit()
        conn.execute(f"ANALYZE {AreaPopulation._meta.db_table}")
        conn.execute(f"ANALYZE {Incident._meta.db_table}")
        conn.commit()
    return city, counts, population


def raw_count() -> tuple[int, float]:
    """The baseline: incidents by community over the window, plain SQL."""
    from django.db import connection

    from minyi.community.colours import _local_midnight, month_window
    from minyi.community.models import Incident

    start, end = month_window(MONTH)
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT community_id, count(*) FROM {Incident._meta.db_table}"  # noqa: S608 - model's table name
            " WHERE occurred_at >= %s AND occurred_at < %s GROUP BY community_id",
            [_local_midnight(start), _local_midnight(end)],
        )
        groups = len(cur.fetchall())
    return groups, time.perf_counter() - started


def run(args, result: Result) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from minyi.community.colours import colour_signals, colours_compute

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    common.log(f"migrated in {time.perf_counter() - started:.1f} s")
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    city, counts, population = build(args, rng)
    result.load_seconds = time.perf_counter() - started
    result.communities = len(counts)
    result.incidents = int(counts.sum())
    common.log(
        f"{result.communities} communities, {result.incidents} incidents loaded in "
        f"{result.load_seconds:.1f} s"
    )
    common.checkpoint()
    computes, raws = [], []
    for _ in range(args.repeats):  # alternated, so that neither side gets the warmer cache
        groups, seconds = raw_count()
        raws.append(seconds)
        started = time.perf_counter()
        result.rows_written = colours_compute(city, MONTH)
        computes.append(time.perf_counter() - started)
        assert groups == np.count_nonzero(counts), (groups, np.count_nonzero(counts))
        result.raw_groups = groups
    assert result.rows_written == result.communities
    result.compute_seconds = min(computes)
    result.raw_seconds = min(raws)
    numpy_runs = []
    for _ in range(max(5, args.repeats)):
        started = time.perf_counter()
        colour_signals(counts.astype(float), population)
        numpy_runs.append(time.perf_counter() - started)
    result.numpy_seconds = min(numpy_runs)


def print_report(r: Result) -> None:
    args = r.args
    common.print_heading(r.machine)
    print(
        f"scale: {r.communities} communities × 12 months of population, {r.incidents} "
        f"incidents, {args.stations} stations" + ("; --tenth" if args.tenth else "")
    )
    rows = [
        (f"colours_compute (best of {args.repeats})", r.rows_written, r.compute_seconds),
        (
            f"baseline: SELECT … GROUP BY community_id (best of {args.repeats})",
            r.incidents,
            r.raw_seconds,
        ),
        ("colour_signals on arrays (numpy alone)", r.communities, r.numpy_seconds),
    ]
    print(f"{'':<54} {'rows':>8} {'seconds':>9} {'rows/s':>11}")
    for label, count, seconds in rows:
        print(f"{label:<54} {count:>8} {seconds:>9.4f} {count / seconds:>11.0f}")
    print(f"load (COPY and bulk_create): {r.load_seconds:.1f} s")
    print(
        f"colours: {r.communities} communities in {r.compute_seconds:.2f} s (aim < 2 s); "
        f"baseline {r.raw_seconds:.3f} s; ratio {r.compute_seconds / r.raw_seconds:.1f}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    result = Result(machine=common.machine_at_start(), args=args)
    done = False
    with common.Session("minyi_bench_colours", args.timeout) as session:
        session.create_database()
        common.configure_environment(session.db_name, {})
        run(args, result)
        done = True
    if done and session.status == 0:
        print_report(result)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

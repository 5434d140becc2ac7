"""Patrol benchmark (巡逻见警率): pings turned into passes per second (`passes_compute`)
against reading the same rows raw (a plain SELECT of the pings) in the same run, and the
ingest service's pings per second against COPY of the same rows.

Run from the repository root: `.venv/bin/python bench/patrol.py` (or `make bench-patrol`);
`--tenth` for a tenth of the units.

Scale: the issue's figure is one month of pings for 500 patrol units at 10 s (500 × 30 ×
8,640 = 130M rows), beyond this 2-core machine in one session. The default is 50 units ×
3 days at the full 10 s rate (1.3M rows, 1% of it); `--tenth` is 5 units × 3 days. Both are
printed in the output. Passes are computed per station and day, so the cost grows linearly
with units × days: the figure per second is what scales.

1. Creates a PostgreSQL database `minyi_bench_patrol_<pid>` on 127.0.0.1:5432 (user postgres)
   and migrates it. A city bureau with `--stations` stations (default 5), each with 6 key road
   segments (300 m, on the street grid) and one key area (a 200 m square), on a 3 km × 3 km
   street grid with roads every 300 m near Shaoxing.
2. Generates `--units` patrol units (default 50) spread over the stations, each driving the
   street grid for `--days` days (default 3) at 6–14 m/s, turning at random at
   crossings, parking now and then for 2–20 minutes (with 5–25 m of GPS jitter), with a GPS
   gap of 10–30 minutes about once a day; a ping every 10 s. The rows are written with
   `COPY … FROM STDIN` (timed: the baseline of the ingest figure).
3. Passes: `passes_compute(station, day)` for every station and day, timed; pings per second
   = good pings read ÷ seconds. Baseline: the same rows read with a plain `SELECT unit_code,
   at, lng, lat … WHERE station_id = … AND at in the day ORDER BY unit_code, at` (psycopg,
   fetchall), timed in the same run, before and after the computation (the faster counts).
   Breakdown: the time of the ORM read of the rows, of the geometry, of the writes.
4. Ingest: `--ingest` pings (default 50,000) of fresh units through `pings_ingest` in
   batches of 5,000 (the API maximum), in-process, against COPY rows/s of step 2.
5. Prints the tables and, last, one summary line:
   `patrol: passes <p> pings/s; raw select <r> rows/s; ratio <p/r>; ingest <i> pings/s; copy
   <c> rows/s; ratio <i/c>; scale <u> units × <d> days × 8640 (<x>% of 500 × 30)`.

The run is bounded (--timeout); the database is dropped at the end, on error and on Ctrl-C
too. Exit status 0 done, 2 timed out, 130 interrupted.
"""

import argparse
import cProfile
import math
import pstats
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import common

BASE_LNG, BASE_LAT = 120.58, 30.00
BLOCK_M = 300
BLOCKS = 10  # a 10 × 10 block street grid: 3 km × 3 km
EVERY_S = 10
PER_DAY = 86_400 // EVERY_S  # 8,640
FIRST_DAY = date(2026, 11, 2)
M_LAT = 110_540.0
M_LNG = 111_320.0 * math.cos(math.radians(BASE_LAT))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--stations", type=int, default=5)
    parser.add_argument("--ingest", type=int, default=50_000)
    parser.add_argument("--tenth", action="store_true", help="a tenth of the units")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--profile", action="store_true", help="profile passes_compute")
    args = parser.parse_args(argv)
    if args.tenth:
        args.units = max(1, args.units // 10)
        args.ingest = max(5000, args.ingest // 10)
    args.stations = max(1, min(args.stations, args.units))
    return args


def lnglat(x_m: float, y_m: float) -> tuple[float, float]:
    return BASE_LNG + x_m / M_LNG, BASE_LAT + y_m / M_LAT


# --- The city and its tracks ------------------------------------------------------------------


def build_city(args, rng: random.Random):
    """A city bureau, its stations, and per station 6 key segments and a key area."""
    from minyi.community.models import AreaLevel, GridArea
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
    size = BLOCK_M * BLOCKS
    for k, station in enumerate(stations):
        lng0, lat0 = lnglat(0, 0)
        lng1, lat1 = lnglat(size, size)
        community = GridArea.objects.create(
            station=station,
            level=AreaLevel.COMMUNITY,
            code=f"BC{k:03d}",
            name=f"基准社区{k}",
            geometry={
                "type": "Polygon",
                "coordinates": [
                    [[lng0, lat0], [lng1, lat0], [lng1, lat1], [lng0, lat1], [lng0, lat0]]
                ],
            },
            min_lng=lng0,
            min_lat=lat0,
            max_lng=lng1,
            max_lat=lat1,
        )
        community.community = community
        community.save(update_fields=["community"])
        for s in range(6):
            i, j = rng.randrange(BLOCKS), rng.randrange(BLOCKS)
            if rng.random() < 0.5:  # along a west-east road
                a, b = lnglat(i * BLOCK_M, j * BLOCK_M), lnglat((i + 1) * BLOCK_M, j * BLOCK_M)
            else:
                a, b = lnglat(i * BLOCK_M, j * BLOCK_M), lnglat(i * BLOCK_M, (j + 1) * BLOCK_M)
            GridArea.objects.create(
                station=station,
                parent=community,
                community=community,
                level=AreaLevel.SEGMENT,
                code=f"BS{k:03d}{s}",
                name=f"基准重点路段{k}-{s}",
                geometry={"type": "LineString", "coordinates": [list(a), list(b)]},
                min_lng=min(a[0], b[0]),
                min_lat=min(a[1], b[1]),
                max_lng=max(a[0], b[0]),
                max_lat=max(a[1], b[1]),
                is_key=True,
            )
        cx, cy = rng.randrange(1, BLOCKS) * BLOCK_M, rng.randrange(1, BLOCKS) * BLOCK_M
        (x0, y0), (x1, y1) = lnglat(cx - 100, cy - 100), lnglat(cx + 100, cy + 100)
        GridArea.objects.create(
            station=station,
            parent=community,
            community=community,
            level=AreaLevel.GROUP,
            code=f"BA{k:03d}",
            name=f"基准重点区域{k}",
            geometry={
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
            },
            min_lng=x0,
            min_lat=y0,
            max_lng=x1,
            max_lat=y1,
            is_key=True,
        )
    return city, stations


def track(rng: random.Random, start: datetime, count: int):
    """`count` pings every EVERY_S seconds of a unit driving the street grid: (at, lng, lat);
    parks now and then (with GPS jitter); about one 10–30 minute gap a day is left out."""
    i, j = rng.randrange(BLOCKS + 1), rng.randrange(BLOCKS + 1)  # the last crossing passed
    moves = ((1, 0), (-1, 0), (0, 1), (0, -1))

    def turn(i, j):
        return rng.choice(
            [(di, dj) for di, dj in moves if 0 <= i + di <= BLOCKS and 0 <= j + dj <= BLOCKS]
        )

    di, dj = turn(i, j)
    along = 0.0  # metres from crossing (i, j) towards the next
    speed = rng.uniform(6, 14)
    parked = 0
    gap_at = rng.randrange(count)
    gap_len = rng.randrange(60, 180)
    for k in range(count):
        moment = start + timedelta(seconds=k * EVERY_S)
        x = i * BLOCK_M + di * along
        y = j * BLOCK_M + dj * along
        if parked > 0:
            parked -= 1
            noise = 12
        else:
            noise = 4
            along += speed * EVERY_S
            while along >= BLOCK_M:  # at a crossing: on, left or right (or back at the edge)
                along -= BLOCK_M
                i, j = i + di, j + dj
                di, dj = turn(i, j)
                speed = rng.uniform(6, 14)
                if rng.random() < 0.04:
                    parked = rng.randrange(12, 120)  # 2–20 minutes
        if gap_at <= k < gap_at + gap_len:
            continue
        yield moment, *lnglat(x + rng.gauss(0, noise), y + rng.gauss(0, noise))


def copy_pings(args, stations, rng: random.Random) -> tuple[int, float]:
    """Write every unit's pings with COPY; (rows, seconds of the COPY alone)."""
    import psycopg
    from django.conf import settings
    from django.utils import timezone

    db = settings.DATABASES["default"]
    rows = 0
    seconds = 0.0
    created = timezone.now()
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]
    ) as conn:
        for unit in range(args.units):
            station = stations[unit % len(stations)]
            buffer = []
            for day in range(args.days):
                start = timezone.make_aware(
                    datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time())
                )
                for at, lng, lat in track(rng, start, PER_DAY):
                    buffer.append((station.pk, f"U{unit:04d}", at, lng, lat, "", created))
            started = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY community_patrolping"
                    " (station_id, unit_code, at, lng, lat, flag, created_at) FROM STDIN"
                ) as copy,
            ):
                for row in buffer:
                    copy.write_row(row)
            conn.commit()
            seconds += time.perf_counter() - started
            rows += len(buffer)
        conn.execute("ANALYZE community_patrolping")
    return rows, seconds


# --- Measurements -----------------------------------------------------------------------------


@dataclass
class Result:
    machine: str
    args: argparse.Namespace
    pings: int = 0
    copy_seconds: float = 0.0
    compute_seconds: float = 0.0
    raw_seconds: float = 0.0
    raw_rows: int = 0
    passes: int = 0
    dwell_stops: int = 0
    ingest_pings: int = 0
    ingest_seconds: float = 0.0
    breakdown: list = field(default_factory=list)


def raw_select(stations, days) -> tuple[int, float]:
    from django.db import connection

    from minyi.community.patrol import day_bounds

    rows, started = 0, time.perf_counter()
    with connection.cursor() as cur:
        for station in stations:
            for day in days:
                start, end = day_bounds(day)
                cur.execute(
                    "SELECT unit_code, at, lng, lat FROM community_patrolping WHERE station_id = %s"
                    " AND flag = '' AND at >= %s AND at < %s ORDER BY unit_code, at",
                    [station.pk, start, end],
                )
                rows += len(cur.fetchall())
    return rows, time.perf_counter() - started


def run(args, result: Result) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from minyi.community.models import PatrolPass
    from minyi.community.patrol import passes_compute, pings_ingest

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    common.log(f"migrated in {time.perf_counter() - started:.1f} s")
    rng = random.Random(args.seed)  # noqa: S311 - synthetic tracks
    _city, stations = build_city(args, rng)
    started = time.perf_counter()
    result.pings, result.copy_seconds = copy_pings(args, stations, rng)
    common.log(
        f"{result.pings} pings generated and copied in {time.perf_counter() - started:.1f} s "
        f"(COPY alone {result.copy_seconds:.1f} s)"
    )
    days = [FIRST_DAY + timedelta(days=d) for d in range(args.days)]
    common.checkpoint()
    first_rows, first_raw = raw_select(stations, days)
    now = timezone.now()
    profile = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profile:
        profile.enable()
    for station in stations:
        for day in days:
            result.passes += passes_compute(station, day, now=now)
    if profile:
        profile.disable()
    result.compute_seconds = time.perf_counter() - started
    second_rows, second_raw = raw_select(stations, days)
    result.raw_rows = first_rows
    result.raw_seconds = min(first_raw, second_raw)
    assert first_rows == second_rows
    result.dwell_stops = PatrolPass.objects.filter(dwell_seconds__gte=600).count()
    if profile:
        stats = pstats.Stats(profile)
        result.breakdown = [
            (label, sum(
                ct for (path, _l, func), (_cc, _nc, _tt, ct, _c) in stats.stats.items()
                if func == name and path.endswith(suffix)
            ))
            for label, suffix, name in (
                ("passes_compute (total)", "community/patrol.py", "passes_compute"),
                ("  to numpy arrays", "community/patrol.py", "_track_arrays"),
                ("  geometry (STRtree, distances)", "community/patrol.py", "_unit_visits"),
                ("  coverage", "community/patrol.py", "_coverage"),
                ("  merge into passes", "community/patrol.py", "_merge"),
            )
        ]  # fmt: skip
    # Ingest: fresh units on the day after, through the service, 5,000 a batch.
    station = stations[0]
    start = timezone.make_aware(
        datetime.combine(FIRST_DAY + timedelta(days=args.days), datetime.min.time())
    )
    items = []
    unit = 0
    while len(items) < args.ingest:
        for at, lng, lat in track(rng, start, PER_DAY):
            items.append({"unit_code": f"I{unit:04d}", "at": at, "lng": lng, "lat": lat})
        unit += 1
    items = items[: args.ingest]
    batches = [items[k : k + 5000] for k in range(0, len(items), 5000)]
    started = time.perf_counter()
    for batch in batches:
        results = pings_ingest(station=station, items=batch, scope_unit=None)
        assert all(r.status == "accepted" for r in results)
    result.ingest_seconds = time.perf_counter() - started
    result.ingest_pings = len(items)


def print_report(r: Result) -> None:
    args = r.args
    share = args.units * args.days / (500 * 30) * 100
    common.print_heading(r.machine)
    print(
        f"scale: {args.units} units × {args.days} days × {PER_DAY} pings (10 s), "
        f"{args.stations} stations × (6 key segments + 1 key area) — {share:.1f}% of the "
        f"issue's 500 units × 30 days (130M rows, beyond this machine in one session)"
        + ("; --tenth" if args.tenth else "")
    )
    table = common.Table(label=44, count=10, seconds=8, rate=12)
    table.header("rows", "rows/s")
    table.row("passes_compute (per station-day)", r.raw_rows, r.compute_seconds)
    table.row("baseline: raw SELECT of the same pings", r.raw_rows, r.raw_seconds)
    table.row("pings_ingest (5,000 a batch, in-process)", r.ingest_pings, r.ingest_seconds)
    table.row("baseline: COPY of the generated pings", r.pings, r.copy_seconds)
    print(f"passes: {r.passes}; dwell stops ≥ 10 min: {r.dwell_stops}")
    if r.breakdown:
        print("profile (cumulative seconds):")
        for label, seconds in r.breakdown:
            print(f"  {label:<44} {seconds:8.3f}")
    compute = r.raw_rows / r.compute_seconds
    raw = r.raw_rows / r.raw_seconds
    ingest = r.ingest_pings / r.ingest_seconds
    copy = r.pings / r.copy_seconds
    print(
        f"patrol: passes {compute:.0f} pings/s; raw select {raw:.0f} rows/s; ratio "
        f"{compute / raw:.2f}; ingest {ingest:.0f} pings/s; copy {copy:.0f} rows/s; ratio "
        f"{ingest / copy:.2f}; scale {args.units} units × {args.days} days × {PER_DAY} "
        f"({share:.1f}% of 500 × 30)"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    result = Result(machine=common.machine_at_start(), args=args)
    done = False
    with common.Session("minyi_bench_patrol", args.timeout) as session:
        session.create_database()
        common.configure_environment(session.db_name, {})
        run(args, result)
        done = True
    if done and session.status == 0:
        print_report(result)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

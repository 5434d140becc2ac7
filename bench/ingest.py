"""Ingest benchmark: events through the real application over HTTP vs. raw COPY.

Run from the repository root: `.venv/bin/python bench/ingest.py [--tenth]` (or
`make bench-ingest`).

1. Creates a throwaway PostgreSQL database `minyi_bench_<pid>` on 127.0.0.1:5432 (user
   postgres), migrates it, builds the demo city and creates an integration API key.
2. Serves minyi.wsgi with gunicorn (2 sync workers) on a free loopback port.
3. Generates N realistic events (demo units, their officers, repeat citizens' mobiles in the
   spellings gateways send) and POSTs them to /api/v1/events in batches from 2 client
   threads with keep-alive clients; checks that every item came back "accepted" and that
   the table holds N rows.
4. Baseline, same run: the same N events (and their officer links) written by raw psycopg
   COPY into the real, emptied tables, with the mobiles encrypted and hashed beforehand by
   the application's own functions, so that the database does the same work.
5. Prints a small table and, last, one summary line:
   `ingest: <N> events/s; baseline copy <M> rows/s; ratio <R>`.

`--tenth` runs a tenth of it: 5,000 events in batches of 500 (so that the 2 clients still
share 10 requests). The whole run is bounded (--timeout); the server is stopped and the
database dropped at the end, on error and on Ctrl-C too. `--profile` adds a cProfile of one
batch through the view, in-process, with a breakdown of where the time goes.
"""

import argparse
import contextlib
import cProfile
import json
import pstats
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import common
import httpx
import psycopg
from psycopg import sql

EVENTS_URL = "/api/v1/events"


# --- Database and Django ---------------------------------------------------------------------


def prepare_database() -> str:
    """Migrate, build the demo city and return a fresh API key scoped to the root unit."""
    common.migrate_and_build_city()
    from minyi.demo.city_plan import ROOT_CODE
    from minyi.orgs.choices import Role
    from minyi.orgs.models import OrgUnit, User
    from minyi.orgs.services import apikey_create

    root = OrgUnit.objects.get(code=ROOT_CODE)
    actor = User.objects.get(unit=root, role=Role.ADMIN, username="city_admin")
    _api_key, key = apikey_create(actor=actor, name="bench ingest", unit=root)
    return key


# --- Events ----------------------------------------------------------------------------------

# Per kind of unit: (business type, weight, officer positions, officers per contact, source).
# Sources are the sending systems: 110 dispatch, household registration, traffic police
# platform, case handling, exit-entry.
_PLAN = {
    "police_station": (
        ("emergency_call_110", 30, ("patrol", "community"), (1, 2), "110jcj"),
        ("help_request", 8, ("patrol", "community"), (1, 2), "110jcj"),
        ("dispute_mediation", 8, ("community", "patrol"), (1, 2), "110jcj"),
        ("hukou_registration", 12, ("window",), (1, 1), "hzxt"),
        ("id_card", 12, ("window",), (1, 1), "hzxt"),
        ("public_order_case", 5, ("case",), (2, 2), "zfba"),
        ("domestic_violence", 1, ("patrol",), (2, 2), "110jcj"),
        ("detention_arrest", 0.5, ("case",), (2, 2), "zfba"),
    ),
    "traffic_brigade": (
        ("traffic_accident", 10, ("traffic",), (1, 2), "jjpt"),
        ("traffic_violation", 15, ("traffic",), (1, 1), "jjpt"),
        ("driving_licence", 6, ("traffic", "staff"), (1, 1), "jjpt"),
        ("vehicle_registration", 5, ("traffic", "staff"), (1, 1), "jjpt"),
    ),
    "criminal_brigade": (
        ("crime_scene_investigation", 5, ("detective",), (2, 2), "zfba"),
        ("criminal_suspect", 1, ("detective",), (2, 2), "zfba"),
        ("sexual_offence", 0.3, ("detective",), (2, 2), "zfba"),
        ("death_handling", 0.3, ("detective",), (2, 2), "zfba"),
    ),
    "special_unit": (("exit_entry_permit", 20, ("window",), (1, 1), "crj"),),
}


@dataclass
class Event:
    payload: dict  # what the integrating system sends
    business_type_id: int
    unit_id: int
    officer_ids: list[int]
    mobile: str  # normalized, "" if none
    occurred_at: datetime


@dataclass
class Workload:
    events: list[Event]
    bodies: list[bytes] = field(default_factory=list)  # one JSON request body per batch
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def links(self) -> int:
        return sum(len(e.officer_ids) for e in self.events)


def _spelling(rng: random.Random, mobile: str) -> str:
    """How gateways and clerks send a number: mostly plain, sometimes +86 or spaced."""
    roll = rng.random()
    if roll < 0.80:
        return mobile
    if roll < 0.90:
        return f"+86{mobile}"
    if roll < 0.95:
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"


def generate_events(n: int, *, seed: int, tag: str) -> list[Event]:
    """N contacts spread over the demo city's stations and brigades by their size."""
    from minyi.orgs.models import Officer, OrgUnit
    from minyi.perception.models import BusinessType

    rng = random.Random(seed)  # noqa: S311 - synthetic data, deterministic by design
    business_types = dict(BusinessType.objects.values_list("code", "id"))
    units = {u.id: u for u in OrgUnit.objects.filter(kind__in=_PLAN)}
    staff: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for o in Officer.objects.filter(unit_id__in=units).values(
        "id", "police_number", "unit_id", "position"
    ):
        staff.setdefault((o["unit_id"], o["position"]), []).append((o["id"], o["police_number"]))
    choices, weights = [], []
    for unit in units.values():
        for code, weight, positions, count, source in _PLAN[unit.kind]:
            pool = [o for p in positions for o in staff.get((unit.id, p), ())]
            if len(pool) >= count[1]:
                choices.append((unit, business_types[code], code, pool, count, source))
                weights.append(weight * len(pool))
    if not choices:
        raise common.BenchError("the demo city has no units with officers to generate events for")
    citizens = max(1, int(n * 0.6))  # repeat customers: ~40% of contacts are a known number
    mobiles = [
        rng.choice(common.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}" for _ in range(citizens)
    ]
    now = datetime.now(common.SHANGHAI).replace(microsecond=0)
    events = []
    for i, pick in enumerate(rng.choices(choices, weights=weights, k=n)):
        unit, bt_id, code, pool, (low, high), source = pick
        officers = rng.sample(pool, rng.randint(low, high))
        mobile = rng.choice(mobiles) if rng.random() < 0.92 else ""
        occurred = now - timedelta(seconds=rng.randrange(300, 48 * 3600))
        payload = {
            "source": source,
            "external_id": f"{source.upper()}-{tag}-{i:08d}",
            "business_type": code,
            "unit": unit.code,
            "officers": [number for _id, number in officers],
            "citizen_mobile": _spelling(rng, mobile) if mobile else "",
            "occurred_at": occurred.isoformat(),
        }
        events.append(Event(payload, bt_id, unit.id, [o for o, _n in officers], mobile, occurred))
    return events


def build_workload(events: list[Event], batch: int) -> Workload:
    work = Workload(events)
    for start in range(0, len(events), batch):
        chunk = [e.payload for e in events[start : start + batch]]
        work.bodies.append(json.dumps({"events": chunk}, ensure_ascii=False).encode())
        work.batch_sizes.append(len(chunk))
    return work


# --- The application over HTTP ---------------------------------------------------------------


def post_events(base_url: str, key: str, work: Workload, clients: int, retries: int):
    """Wall seconds for all batches, and the server errors retried. A batch that fails
    with a 5xx is sent again, as an integrating system would (the API is idempotent on
    (source, external_id)); the time lost stays in the measurement."""
    jobs = list(zip(work.bodies, work.batch_sizes, strict=True))
    server_errors: list[int] = []

    @contextlib.contextmanager
    def worker():
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:

            def handle(job):
                body, size = job
                for attempt in range(retries + 1):
                    response = client.post(EVENTS_URL, content=body)
                    if response.status_code < 500 or attempt == retries:
                        break
                    server_errors.append(response.status_code)
                if response.status_code != 200:
                    raise common.BenchError(
                        f"POST {EVENTS_URL}: HTTP {response.status_code}: {response.text[:300]}"
                    )
                result = response.json()
                # A retry may find rows that an earlier attempt did commit.
                allowed = ("accepted", "duplicate") if attempt else ("accepted",)
                bad = [i for i in result["items"] if i["status"] not in allowed]
                if len(result["items"]) != size or bad:
                    raise common.BenchError(
                        f"{len(bad)} of {size} items not accepted, e.g. {bad[:3]}"
                    )

            yield handle

    return common.run_concurrently(jobs, clients, worker), len(server_errors)


def deadlocks_logged(server: common.Server) -> int:
    """Deadlocks the application hit (and answered with a 500), as gunicorn logged them."""
    with contextlib.suppress(OSError):
        text = server.log_path.read_text(errors="replace")
        return text.count("OperationalError: deadlock detected")
    return 0


# --- Baseline: raw COPY ----------------------------------------------------------------------


def copy_rows(work: Workload, api_key_id: int):
    """The rows the application stored, built beforehand with its own PII functions:
    (events rows in column order, links rows) per batch, plus the column names."""
    from minyi.core.pii import encrypt, lookup_hash
    from minyi.perception.models import ServiceEvent

    columns = [f.column for f in ServiceEvent._meta.concrete_fields]
    received_at = datetime.now(UTC)
    batches, index = [], 0
    for size in work.batch_sizes:
        rows, links = [], []
        for event in work.events[index : index + size]:
            index += 1
            values = {
                "id": index,
                "source": event.payload["source"],
                "external_id": event.payload["external_id"],
                "business_type_id": event.business_type_id,
                "unit_id": event.unit_id,
                "citizen_mobile": encrypt(event.mobile),
                "citizen_mobile_hash": lookup_hash("mobile", event.mobile),
                "occurred_at": event.occurred_at,
                "received_at": received_at,
                "survey_decision": "pending",
                "api_key_id": api_key_id,
            }
            rows.append(tuple(values[c] for c in columns))
            links.extend((index, officer_id) for officer_id in event.officer_ids)
        batches.append((rows, links))
    return columns, batches


def copy_baseline(db_name: str, work: Workload, api_key_id: int, clients: int) -> float:
    from minyi.perception.models import ServiceEvent

    columns, batches = copy_rows(work, api_key_id)
    table = ServiceEvent._meta.db_table
    through = ServiceEvent.officers.through._meta.db_table
    copy_events = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    copy_links = sql.SQL("COPY {} (serviceevent_id, officer_id) FROM STDIN").format(
        sql.Identifier(through)
    )
    dsn = {
        "host": common.PG_HOST,
        "port": common.PG_PORT,
        "user": common.PG_USER,
        "dbname": db_name,
    }
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("TRUNCATE {}, {} RESTART IDENTITY CASCADE").format(
                sql.Identifier(table), sql.Identifier(through)
            )
        )
    common.checkpoint()

    @contextlib.contextmanager
    def worker():
        with psycopg.connect(**dsn) as conn:

            def handle(job):
                rows, links = job
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(copy_events) as copy:
                        for row in rows:
                            copy.write_row(row)
                    with cur.copy(copy_links) as copy:
                        for link in links:
                            copy.write_row(link)

            yield handle

    elapsed = common.run_concurrently(batches, clients, worker)
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {}").format(
                sql.Identifier(table)
            ),
            (table,),
        )
    return elapsed


# --- Checks ----------------------------------------------------------------------------------


def check_stored(work: Workload) -> None:
    """N rows, N·officers links, and the same mobile hashes the baseline will write."""
    from minyi.core.pii import lookup_hash
    from minyi.perception.models import ServiceEvent

    through = ServiceEvent.officers.through
    stored = dict(ServiceEvent.objects.values_list("external_id", "citizen_mobile_hash"))
    if len(stored) != len(work.events):
        raise common.BenchError(f"{len(stored)} rows in the table, expected {len(work.events)}")
    links = through.objects.count()
    if links != work.links:
        raise common.BenchError(f"{links} officer links stored, expected {work.links}")
    wrong = sum(
        1
        for e in work.events
        if stored.get(e.payload["external_id"]) != lookup_hash("mobile", e.mobile)
    )
    if wrong:
        raise common.BenchError(f"{wrong} rows have a mobile hash the baseline would not write")


def check_copied(db_name: str, work: Workload) -> None:
    from minyi.perception.models import ServiceEvent

    with psycopg.connect(
        host=common.PG_HOST, port=common.PG_PORT, user=common.PG_USER, dbname=db_name
    ) as conn:
        (rows,) = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(ServiceEvent._meta.db_table))
        ).fetchone()
    if rows != len(work.events):
        raise common.BenchError(f"baseline: {rows} rows copied, expected {len(work.events)}")


# --- Profile ---------------------------------------------------------------------------------

_INGEST = "minyi/perception/services/ingest.py"
# (label, file suffix, function): cumulative time of each, in the one profiled request.
_BREAKDOWN = (
    ("API key check (apikey_authenticate)", "minyi/orgs/services.py", "apikey_authenticate"),
    ("json.loads of the body", "json/__init__.py", "loads"),
    ("EventIn validation (batch_validate)", "minyi/core/batches.py", "batch_validate"),
    ("events_ingest", _INGEST, "events_ingest"),
    ("  normalize_mobile", "minyi/core/pii.py", "normalize_mobile"),
    ("  lookup_hash (HMAC-SHA256)", "minyi/core/pii.py", "lookup_hash"),
    ("  encrypt (Fernet, via the model field)", "minyi/core/pii.py", "encrypt"),
    ("  keys already stored (_events_stored)", _INGEST, "_events_stored"),
    ("  _store_events (transaction + commit)", _INGEST, "_store_events"),
    ("    _insert_events (COPY, INSERT…SELECT)", _INGEST, "_insert_events"),
    ("    _insert_links (COPY)", _INGEST, "_insert_links"),
    ("    rollup_add (SatisfactionDaily)", "minyi/perception/services/daily.py", "rollup_add"),
    ("SQL: waiting for PostgreSQL (psycopg wait)", "psycopg/connection.py", "wait"),
    ("response: batch_answer (JSON rendering)", "minyi/core/batches.py", "batch_answer"),
)  # fmt: skip


def profile_one_batch(key: str, batch: int, seed: int) -> None:
    from django.test import Client

    events = generate_events(batch, seed=seed + 1, tag="profile")
    body = json.dumps({"events": [e.payload for e in events]}, ensure_ascii=False).encode()
    client = Client(HTTP_HOST="127.0.0.1")
    warm_up = generate_events(10, seed=seed + 2, tag="warmup")  # lazy imports, first queries
    client.post(
        EVENTS_URL,
        data={"events": [e.payload for e in warm_up]},
        content_type="application/json",
        headers={"X-API-Key": key},
    )
    # The same request once without the profiler, for its overhead: a second fresh batch.
    plain = generate_events(batch, seed=seed + 3, tag="unprofiled")
    plain_body = json.dumps({"events": [e.payload for e in plain]}, ensure_ascii=False).encode()
    started = time.perf_counter()
    response = client.post(
        EVENTS_URL, data=plain_body, content_type="application/json", headers={"X-API-Key": key}
    )
    unprofiled = time.perf_counter() - started
    if response.status_code != 200:
        raise common.BenchError(f"unprofiled request: HTTP {response.status_code}")
    profiler = cProfile.Profile()
    profiler.enable()
    response = client.post(
        EVENTS_URL, data=body, content_type="application/json", headers={"X-API-Key": key}
    )
    profiler.disable()
    if response.status_code != 200:
        raise common.BenchError(f"profiled request: HTTP {response.status_code}")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\nProfile of one {batch}-event request, in-process (cumulative seconds):")
    print(f"  {'same request size without the profiler':<44} {unprofiled:8.3f}")
    print(f"  {'whole request (test client, no HTTP)':<44} {stats.total_tt:8.3f}")
    common.print_breakdown(stats, _BREAKDOWN)
    print("\nTop functions by own time:", flush=True)
    stats.sort_stats("tottime").print_stats(20)


# --- Main ------------------------------------------------------------------------------------


@dataclass
class Result:
    events: int
    batches: int
    links: int
    app_seconds: float
    copy_seconds: float
    retried: int
    deadlocks: int
    machine_at_start: str

    @property
    def app_rate(self) -> float:
        return self.events / self.app_seconds

    @property
    def copy_rate(self) -> float:
        return self.events / self.copy_seconds


def run(args, db_name: str, server: common.Server) -> Result:
    at_start = common.machine_at_start()
    key = prepare_database()
    from django.db import connections

    from minyi.orgs.models import ApiKey

    api_key_id = ApiKey.objects.get(prefix=key.split("_")[1]).pk
    started = time.perf_counter()
    work = build_workload(generate_events(args.events, seed=args.seed, tag="bench"), args.batch)
    common.log(
        f"{len(work.events)} events, {work.links} officer links, {len(work.bodies)} batches, "
        f"{sum(map(len, work.bodies)) / 1e6:.1f} MB of JSON "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    connections.close_all()  # the workers open their own; nothing held across the run
    common.checkpoint()

    server.start()
    app_seconds, retried = post_events(server.base_url, key, work, args.clients, args.retries)
    common.log(f"application: {app_seconds:.2f} s")
    server.stop()
    deadlocks = deadlocks_logged(server)
    if retried:
        common.log(
            f"WARNING: {retried} batches failed with a server error and were sent again "
            f"({deadlocks} deadlocks in the gunicorn log)"
        )
    check_stored(work)

    copy_seconds = copy_baseline(db_name, work, api_key_id, args.clients)
    check_copied(db_name, work)
    common.log(f"baseline COPY: {copy_seconds:.2f} s")

    if args.profile:
        profile_one_batch(key, args.batch, args.seed)
    connections.close_all()
    return Result(
        len(work.events),
        len(work.bodies),
        work.links,
        app_seconds,
        copy_seconds,
        retried,
        deadlocks,
        at_start,
    )


def print_report(result: Result, args) -> None:
    ratio = result.app_rate / result.copy_rate
    common.print_heading(result.machine_at_start)
    print(
        f"{result.events} events in {result.batches} batches of up to {args.batch}, "
        f"{result.links} officer links, {args.clients} concurrent clients, "
        f"{args.workers} gunicorn workers" + ("; --tenth" if args.tenth else "")
    )
    table = common.Table(label=32, count=8, seconds=9, rate=9)
    table.header("events", "rows/s")
    table.row("Minyi POST /api/v1/events", result.events, result.app_seconds)
    table.row("raw psycopg COPY (same rows)", result.events, result.copy_seconds)
    if result.retried:
        print(
            f"(the application figure includes {result.retried} batches re-sent after a server "
            f"error; {result.deadlocks} deadlocks in the server log)"
        )
    print(
        f"ingest: {result.app_rate:.0f} events/s; baseline copy {result.copy_rate:.0f} rows/s; "
        f"ratio {ratio:.2f}",
        flush=True,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to ingest [50000]")
    parser.add_argument("--batch", type=int, default=5_000, help="events per request [5000]")
    parser.add_argument("--clients", type=int, default=2, help="concurrent client threads [2]")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--timeout", type=int, default=300, help="abort after seconds [300]")
    parser.add_argument(
        "--retries", type=int, default=3, help="re-sends of a batch after a 5xx [3]"
    )
    parser.add_argument("--seed", type=int, default=20261124, help="event generator seed")
    parser.add_argument("--profile", action="store_true", help="also cProfile one batch in-process")
    parser.add_argument(
        "--tenth", action="store_true", help="a tenth: --events and --batch divided by 10"
    )
    args = parser.parse_args(argv)
    if args.tenth:
        args.events, args.batch = max(1, args.events // 10), max(1, args.batch // 10)
    if args.events < 1 or not 1 <= args.batch <= 5000 or args.clients < 1 or args.workers < 1:
        parser.error("need --events >= 1, 1 <= --batch <= 5000, --clients and --workers >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench", args.timeout) as session:
        session.create_database()
        sock = common.listening_socket(backlog=128)
        session.on_exit("close the web socket", sock.close)
        server = common.Server(
            app="minyi.wsgi:application",
            sock=sock,
            workers=args.workers,
            log_path=session.workdir / "gunicorn.log",
        )
        session.on_exit("stop gunicorn", server.stop)
        session.show_on_failure("gunicorn", server.log_path)
        common.configure_environment(session.db_name, {"MINYI_SMS_BACKEND": "console"})
        result = run(args, session.db_name, server)
    if result is not None:
        print_report(result, args)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

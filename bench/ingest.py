"""Ingest benchmark: events through the real application over HTTP vs. raw COPY.

Run from the repository root: `.venv/bin/python bench/ingest.py` (or `make bench-ingest`).

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

The whole run is bounded (--timeout); the server is stopped and the database dropped at the
end, on error and on Ctrl-C too. `--profile` adds a cProfile of one batch through the view,
in-process, with a breakdown of where the time goes.
"""

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
SHANGHAI = timezone(timedelta(hours=8))
EVENTS_URL = "/api/v1/events"


class BenchError(Exception):
    pass


class BenchTimeout(BaseException):
    """Raised in the main thread by SIGALRM; a BaseException so nothing swallows it."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- Database and Django ---------------------------------------------------------------------


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


def checkpoint() -> None:
    """Flush dirty pages before each measurement, so neither pays for the other's writes."""
    with admin_connection() as conn:
        conn.execute("CHECKPOINT")


def configure_environment(db_name: str) -> None:
    """Everything the settings need, set before Django is imported (the repository's .env
    never overrides these: it is read with overwrite=False)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "minyi.settings",
            "MINYI_DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}",
            "MINYI_DEBUG": "false",
            "MINYI_DEMO_MODE": "true",
            "MINYI_SECRET_KEY": secrets.token_urlsafe(50),
            "MINYI_PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "MINYI_PII_HASH_KEY": secrets.token_urlsafe(32),
            "MINYI_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MINYI_SMS_BACKEND": "console",
            "MINYI_LOG_LEVEL": "WARNING",
        }
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def prepare_database() -> str:
    """Migrate, build the demo city and return a fresh API key scoped to the root unit."""
    import django

    django.setup()
    from django.core.management import call_command

    from minyi.orgs.choices import Role
    from minyi.orgs.demo import ROOT_CODE, build_demo_city
    from minyi.orgs.models import OrgUnit, User
    from minyi.orgs.services import apikey_create

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    city = build_demo_city()
    log(
        f"demo city: {city.units} units, {city.officers} officers "
        f"({time.perf_counter() - started:.1f} s)"
    )
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
_MOBILE_PREFIXES = ("130", "133", "135", "136", "137", "138", "139", "150", "151", "152")
_MOBILE_PREFIXES += ("158", "159", "180", "182", "186", "187", "188", "189", "191", "199")


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
        raise BenchError("the demo city has no units with officers to generate events for")
    citizens = max(1, int(n * 0.6))  # repeat customers: ~40% of contacts are a known number
    mobiles = [
        rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}" for _ in range(citizens)
    ]
    now = datetime.now(SHANGHAI).replace(microsecond=0)
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


class Server:
    """gunicorn serving minyi.wsgi on a loopback socket bound here (no port race)."""

    def __init__(self, *, workers: int, log_path: Path):
        self.workers = workers
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.base_url = ""

    def start(self) -> None:
        try:
            import gunicorn  # noqa: F401
        except ImportError as exc:
            raise BenchError(
                "gunicorn is not installed in the virtualenv (.venv/bin/pip install gunicorn; "
                "it belongs in pyproject's dev dependencies)"
            ) from exc
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.set_inheritable(True)
        port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "gunicorn", "minyi.wsgi:application",
            "--bind", f"fd://{self.sock.fileno()}",
            "--workers", str(self.workers),
            "--worker-class", "sync",
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--no-control-socket",
            "--log-level", "warning",
            "--error-logfile", str(self.log_path),
            "--capture-output",
        ]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command,
            cwd=ROOT,
            env=os.environ.copy(),
            pass_fds=(self.sock.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches us only; we stop it
        )
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while True:
                if self.proc.poll() is not None:
                    raise BenchError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"gunicorn did not answer /healthz in 60 s:\n{self.tail()}")
                time.sleep(0.2)
        log(f"gunicorn pid {self.proc.pid}, {self.workers} workers, {self.base_url}")

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def log_count(self, text: str) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").count(text)
        return 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the arbiter stops its workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: arbiter + workers
                self.proc.wait(timeout=10)
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _run_concurrently(jobs: list, clients: int, make_worker) -> float:
    """Run `jobs` from a shared queue on `clients` threads; each thread gets its own
    resource from `make_worker()` (a context manager yielding `handle(job)`), opened before
    the clock starts. Returns wall seconds; re-raises the first failure."""
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    errors: list[BaseException] = []
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def run() -> None:
        try:
            with make_worker() as handle:
                ready.wait()
                while not stop.is_set():
                    try:
                        job = work.get_nowait()
                    except queue.Empty:
                        return
                    handle(job)
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:
            errors.append(exc)
            stop.set()
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.abort()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        started = time.perf_counter()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)  # short joins: SIGALRM and Ctrl-C get through
        elapsed = time.perf_counter() - started
    except threading.BrokenBarrierError:
        elapsed = 0.0
    finally:
        stop.set()
    if errors:
        raise errors[0]
    return elapsed


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
                    raise BenchError(
                        f"POST {EVENTS_URL}: HTTP {response.status_code}: {response.text[:300]}"
                    )
                result = response.json()
                # A retry may find rows that an earlier attempt did commit.
                allowed = ("accepted", "duplicate") if attempt else ("accepted",)
                bad = [i for i in result["items"] if i["status"] not in allowed]
                if len(result["items"]) != size or bad:
                    raise BenchError(f"{len(bad)} of {size} items not accepted, e.g. {bad[:3]}")

            yield handle

    return _run_concurrently(jobs, clients, worker), len(server_errors)


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
    dsn = {"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "dbname": db_name}
    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("TRUNCATE {}, {} RESTART IDENTITY CASCADE").format(
                sql.Identifier(table), sql.Identifier(through)
            )
        )
    checkpoint()

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

    elapsed = _run_concurrently(batches, clients, worker)
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
        raise BenchError(f"{len(stored)} rows in the table, expected {len(work.events)}")
    links = through.objects.count()
    if links != work.links:
        raise BenchError(f"{links} officer links stored, expected {work.links}")
    wrong = sum(
        1
        for e in work.events
        if stored.get(e.payload["external_id"]) != lookup_hash("mobile", e.mobile)
    )
    if wrong:
        raise BenchError(f"{wrong} rows have a mobile hash the baseline would not write")


def check_copied(db_name: str, work: Workload) -> None:
    from minyi.perception.models import ServiceEvent

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db_name) as conn:
        (rows,) = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(ServiceEvent._meta.db_table))
        ).fetchone()
    if rows != len(work.events):
        raise BenchError(f"baseline: {rows} rows copied, expected {len(work.events)}")


# --- Profile ---------------------------------------------------------------------------------

# (label, file suffix, function): cumulative time of each, in the one profiled request.
_BREAKDOWN = (
    ("API key check (apikey_authenticate)", "minyi/orgs/services.py", "apikey_authenticate"),
    ("json.loads of the body", "json/__init__.py", "loads"),
    ("EventIn validation (pydantic, per item)", "minyi/perception/api.py", "_validate_items"),
    ("events_ingest", "minyi/perception/services.py", "events_ingest"),
    ("  normalize_mobile", "minyi/core/pii.py", "normalize_mobile"),
    ("  lookup_hash (HMAC-SHA256)", "minyi/core/pii.py", "lookup_hash"),
    ("  model instances (events, links)", "django/db/models/base.py", "__init__"),
    ("  _store_events (transaction)", "minyi/perception/services.py", "_store_events"),
    ("    encrypt (Fernet, in get_prep_value)", "minyi/core/pii.py", "encrypt"),
    ("    _link_officers (M2M bulk_create)", "minyi/perception/services.py", "_link_officers"),
    ("    _rollup_add (SatisfactionDaily)", "minyi/perception/services.py", "_rollup_add"),
    ("    SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
    ("response: BatchOut validation + render", "ninja/operation.py", "_result_to_response"),
)


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
        raise BenchError(f"unprofiled request: HTTP {response.status_code}")
    profiler = cProfile.Profile()
    profiler.enable()
    response = client.post(
        EVENTS_URL, data=body, content_type="application/json", headers={"X-API-Key": key}
    )
    profiler.disable()
    if response.status_code != 200:
        raise BenchError(f"profiled request: HTTP {response.status_code}")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\nProfile of one {batch}-event request, in-process (cumulative seconds):")
    print(f"  {'same request size without the profiler':<44} {unprofiled:8.3f}")
    print(f"  {'whole request (test client, no HTTP)':<44} {stats.total_tt:8.3f}")
    for label, suffix, name in _BREAKDOWN:
        total = sum(
            ct
            for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
            if func == name and path.replace("\\", "/").endswith(suffix)
        )
        print(f"  {label:<44} {total:8.3f}")
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


def run(args, db_name: str, server: Server) -> Result:
    at_start = machine()
    if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.5:
        log(f"note: the machine is busy ({at_start}); figures will be low and noisy")
    key = prepare_database()
    from django.db import connections

    from minyi.orgs.models import ApiKey

    api_key_id = ApiKey.objects.get(prefix=key.split("_")[1]).pk
    started = time.perf_counter()
    work = build_workload(generate_events(args.events, seed=args.seed, tag="bench"), args.batch)
    log(
        f"{len(work.events)} events, {work.links} officer links, {len(work.bodies)} batches, "
        f"{sum(map(len, work.bodies)) / 1e6:.1f} MB of JSON "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    connections.close_all()  # the workers open their own; nothing held across the run
    checkpoint()

    server.start()
    app_seconds, retried = post_events(server.base_url, key, work, args.clients, args.retries)
    log(f"application: {app_seconds:.2f} s")
    server.stop()
    deadlocks = server.log_count("OperationalError: deadlock detected")
    if retried:
        log(
            f"WARNING: {retried} batches failed with a server error and were sent again "
            f"({deadlocks} deadlocks in the gunicorn log)"
        )
    check_stored(work)

    copy_seconds = copy_baseline(db_name, work, api_key_id, args.clients)
    check_copied(db_name, work)
    log(f"baseline COPY: {copy_seconds:.2f} s")

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


def machine() -> str:
    """CPU model, cores and load average, for docs/performance.md."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model or 'unknown CPU'}, {os.cpu_count()} cores, load average {load}"


def print_report(result: Result, args) -> None:
    ratio = result.app_rate / result.copy_rate
    print(f"\n{datetime.now(SHANGHAI):%Y-%m-%d %H:%M %z}; {result.machine_at_start}")
    print(
        f"{result.events} events in {result.batches} batches of up to {args.batch}, "
        f"{result.links} officer links, {args.clients} concurrent clients, "
        f"{args.workers} gunicorn workers"
    )
    print(f"{'':<32} {'events':>8} {'seconds':>9} {'rows/s':>9}")
    print(
        f"{'Minyi POST /api/v1/events':<32} {result.events:>8} "
        f"{result.app_seconds:>9.2f} {result.app_rate:>9.0f}"
    )
    print(
        f"{'raw psycopg COPY (same rows)':<32} {result.events:>8} "
        f"{result.copy_seconds:>9.2f} {result.copy_rate:>9.0f}"
    )
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
    args = parser.parse_args(argv)
    if args.events < 1 or not 1 <= args.batch <= 5000 or args.clients < 1 or args.workers < 1:
        parser.error("need --events >= 1, 1 <= --batch <= 5000, --clients and --workers >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    db_name = f"minyi_bench_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="minyi_bench_"))
    server = Server(workers=args.workers, log_path=workdir / "gunicorn.log")
    created = False

    def on_alarm(_signum, _frame):
        raise BenchTimeout

    def on_term(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(args.timeout)
    result, status = None, 1
    try:
        with admin_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        created = True
        log(f"database {db_name} on {PG_HOST}:{PG_PORT}")
        configure_environment(db_name)
        result = run(args, db_name, server)
        status = 0
    except BenchTimeout:
        log(f"aborted: over the {args.timeout} s time limit")
        status = 2
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except BenchError as exc:
        log(f"failed: {exc}")
        tail = server.tail()
        if tail:
            log(f"gunicorn log (last lines):\n{tail}")
    except Exception:
        log(f"failed:\n{traceback.format_exc()}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # clean up without being cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup(server, db_name if created else None, workdir)
    if result is not None:
        print_report(result, args)
    return status


def cleanup(server: Server, db_name: str | None, workdir: Path) -> None:
    try:
        server.stop()
    except Exception as exc:
        log(f"could not stop gunicorn: {exc}")
    if "django" in sys.modules:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
    if db_name:
        try:
            with admin_connection() as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(db_name)
                    )
                )
            log(f"dropped {db_name}")
        except psycopg.Error as exc:
            log(f"could not drop {db_name}: {exc}")
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())

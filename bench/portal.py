"""Citizen portal benchmark: requests/s of the case-progress page and the officer directory,
against a hello-world Django view on the same server in the same run.

Run from the repository root: `.venv/bin/python bench/portal.py` (or `make bench-portal`);
`--tenth` for a tenth of the cases (20,000), `--quick` for a smoke run of 5,000 cases and
short measurements.

1. Creates a PostgreSQL database `minyi_bench_portal_<pid>` on 127.0.0.1:5432 (user postgres),
   migrates it and builds the demo city. Writes `--cases` cases (default 200,000) with two
   parties each and about five progress steps each (≈1 million) straight into the real
   tables with COPY, then `--sessions` more cases (default 300) through `case_upsert`, the
   service the case API uses. Each of those cases' parties gets the proof cookie the lookup
   view leaves after the right code (`proof_cookie_value`); after the code the lookup deletes
   the session, so the client sends only that cookie. Every public officer gets a card
   (`OfficerCard`).
2. Starts gunicorn (2 sync workers) on a loopback socket with bench/portal_settings.py:
   Minyi's settings and URLs plus a hello-world view (`bench/portal_urls.py`), so the pages
   and the baseline go through the same server and the same middleware.
3. Requests, from `--clients` threads (default 4) for `--seconds` each (default 20), in
   `--rounds` rounds (default 3) that rotate the order:
   - hello: GET /bench/hello (the baseline);
   - case progress: GET /c/cases/progress/ with one of the proof cookies;
   - case progress + session: the same for the cases' victims, each with a session cookie as
     well (a party who has also proven their mobile for another page, e.g. after
     complaining), which the middleware reads (not in the summary line);
   - directory search: GET /c/officers/?q=<a community of the demo city>;
   - officer card: GET /c/officers/<card code>/.
   Every response must be 200, or the run fails (and shows the body). Before its first
   measurement, each page is requested once for up to 200 of its variants, and the body
   must show what was asked for (the case number, the community, the officer's name).
4. Prints a table (requests, req/s, p50 and p95 latency, ratio to hello, and the CPU the
   load generator itself used, as a share of one core) and, last, one summary line:
   `portal: case progress <a> req/s; directory <b> req/s; hello <c> req/s;
   ratio <min(a, b)/c>`, where b is the slower of directory search and officer card.

The client is a raw HTTP/1.1 socket per request (gunicorn's sync worker closes every
connection anyway), so that on a 2-core machine the load generator takes little of the CPU
the server needs. The run is bounded (--timeout); gunicorn is stopped and the database
dropped at the end, on error and on Ctrl-C too. `--profile` adds an in-process cProfile of
each page through Django's test client. `--health-checks` turns on Django's
CONN_HEALTH_CHECKS in the server (MINYI_DB_HEALTH_CHECKS=1, off by default), to measure what
its `SELECT 1` per request costs; the figures of such a run are not the site's default.
"""

import argparse
import contextlib
import cProfile
import os
import pstats
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import common
import psycopg
from psycopg import sql

SETTINGS = "bench.portal_settings"
HELLO_PATH = "/bench/hello"  # bench/portal_urls.py
PROGRESS_PATH = "/c/cases/progress/"
DIRECTORY_PATH = "/c/officers/"
QUICK_CASES = 5_000
CHECKED_VARIANTS = 200  # variants of each page whose body is checked before measuring
CASE_TYPES = ("盗窃", "诈骗", "故意伤害", "电动车被盗", "入室盗窃", "寻衅滋事", "交通肇事")
CHAIN = ("received", "filed", "investigating", "solved", "prosecution", "closed")
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) minyi-bench"


# --- Data ------------------------------------------------------------------------------------


def _dsn(db_name: str) -> dict:
    return {"host": common.PG_HOST, "port": common.PG_PORT, "user": common.PG_USER,
            "dbname": db_name}  # fmt: skip


def _valid_id_number(rng: random.Random) -> str:
    from minyi.core.pii import id_number_checksum

    born = f"{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"330602{born}{rng.randint(0, 999):03d}"
    return first17 + id_number_checksum(first17)


def _steps(rng: random.Random, start, now) -> list[tuple[str, object, str]]:
    """A case's timeline: (stage, time, public note). About 8% not filed; the others go some
    way along the chain, with further investigation updates once under investigation
    (about five steps a case on average)."""
    if rng.random() < 0.08:
        stages = ["received", "not_filed"]
    else:
        stages = list(CHAIN[: rng.randint(1, len(CHAIN))])
        if len(stages) >= 3:
            stages[3:3] = ["investigating"] * rng.randint(0, 6)
    steps, at = [], start
    for stage in stages:
        note = "经审查，没有犯罪事实，不予立案。" if stage == "not_filed" else ""
        if stage == "investigating" and steps and steps[-1][0] == "investigating":
            note = "案件正在侦查中，已调取周边监控。"
        steps.append((stage, at, note))
        at += timedelta(days=rng.uniform(0.5, 20))
        if at >= now:
            break
    return steps


def load_cases(db_name: str, n: int, seed: int) -> dict[str, int]:
    """N cases, 2N parties and their timelines, COPYed into the real tables (ids 1..N). The
    encrypted fields hold one real ciphertext each (made with the run's key, so pages that
    decrypt them work); the lookup hashes are synthetic."""
    from django.utils import timezone

    from minyi.cases.models import Case, CaseParty, CaseProgress
    from minyi.core.pii import encrypt
    from minyi.orgs.models import Officer, OrgUnit

    rng = random.Random(f"{seed}:cases")  # noqa: S311 - synthetic data, deterministic
    units = list(
        OrgUnit.objects.filter(kind__in=("police_station", "criminal_brigade"), is_active=True)
        .order_by("path")
        .values_list("id", "code")
    )
    if not units:
        raise common.BenchError("the demo city has no stations to own cases")
    handlers: dict[int, list[int]] = {}
    for officer_id, unit_id in Officer.objects.filter(is_active=True).values_list("id", "unit"):
        handlers.setdefault(unit_id, []).append(officer_id)
    name, id_number = encrypt("王女士"), encrypt(_valid_id_number(rng))
    mobile = encrypt("13800000000")
    now = timezone.now()
    cases, parties, progress = [], [], []
    notes: dict[str, str] = {}
    for case_id in range(1, n + 1):
        unit_id, unit_code = rng.choice(units)
        start = now - timedelta(days=rng.uniform(1, 730))
        steps = _steps(rng, start, now)
        stage, stage_at, _note = steps[-1]
        officer = rng.choice(handlers[unit_id]) if handlers.get(unit_id) else None
        roll = rng.random()
        cases.append((
            case_id, start, stage_at, f"A{unit_code}{start:%Y%m}{case_id:07d}",
            rng.choice(CASE_TYPES), roll < 0.02, 0.02 <= roll < 0.03, stage, stage_at,
            "bench", officer, unit_id,
        ))  # fmt: skip
        for role in ("reporter", "victim"):
            parties.append((
                case_id, role, name, id_number, f"{rng.getrandbits(256):064x}", mobile,
                f"{rng.getrandbits(256):064x}", True,
            ))  # fmt: skip
        for index, (step_stage, at, note) in enumerate(steps):
            if note not in notes:  # one ciphertext per distinct note: the page decrypts it
                notes[note] = encrypt(note) if note else ""
            progress.append(
                (case_id, step_stage, at, notes[note], f"bulk-{case_id}-{index}", at, at)
            )
    copies = (
        (Case, ("id", "created_at", "updated_at", "number", "case_type", "confidential",
                "private", "stage", "stage_at", "source", "officer_id", "unit_id"), cases),
        (CaseParty, ("case_id", "role", "name", "id_number", "id_number_hash", "mobile",
                     "mobile_hash", "notify"), parties),
        (CaseProgress, ("case_id", "stage", "occurred_at", "note", "external_id",
                        "notified_at", "created_at"), progress),
    )  # fmt: skip
    with psycopg.connect(**_dsn(db_name)) as conn:
        for model, columns, rows in copies:
            started = time.perf_counter()
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(model._meta.db_table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
            )
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            seconds = time.perf_counter() - started
            common.log(f"  {len(rows):,} {model._meta.db_table} rows ({seconds:.0f} s)")
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)"),
            (Case._meta.db_table, n),
        )
    with psycopg.connect(**_dsn(db_name), autocommit=True) as conn:
        for model, _columns, _rows in copies:
            conn.execute(
                sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(model._meta.db_table))
            )
    return {"cases": len(cases), "parties": len(parties), "progress": len(progress)}


@dataclass(frozen=True)
class Job:
    """One variant of a page: the raw request, and what its body must contain."""

    request: bytes
    expect: bytes


def request_bytes(path: str, cookie: str = "") -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {common.HOST}",
        f"User-Agent: {USER_AGENT}",
        "Accept: text/html",
        "Accept-Language: zh-CN,zh;q=0.9",
        "Connection: close",
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def service_cases_and_proofs(n: int, seed: int) -> tuple[list[Job], list[Job]]:
    """N cases through case_upsert (after the bulk ones), each reporter with the proof cookie
    the lookup leaves after a right code; and the same requests with a session cookie too."""
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone

    from minyi.cases.models import CaseParty
    from minyi.cases.public_views import PROOF_COOKIE, proof_cookie_value
    from minyi.cases.services import case_upsert
    from minyi.orgs.models import Officer, OrgUnit
    from minyi.verification.models import OtpPurpose
    from minyi.verification.services import session_mark_verified

    rng = random.Random(f"{seed}:service")  # noqa: S311 - synthetic data, deterministic
    stations = list(OrgUnit.objects.filter(kind="police_station", is_active=True))
    numbers = []
    now = timezone.now()
    started = time.perf_counter()
    for index in range(n):
        unit = rng.choice(stations)
        officer = Officer.objects.filter(unit=unit, is_active=True).order_by("pk").first()
        start = now - timedelta(days=rng.uniform(1, 365))
        steps = [
            {"stage": stage, "occurred_at": at, "note": note,
             "external_id": f"svc-{index}-{position}", "notify": False}
            for position, (stage, at, note) in enumerate(_steps(rng, start, now))
        ]  # fmt: skip
        number = f"J{unit.code}{start:%Y%m}{index:05d}"
        case_upsert(
            scope=None,
            unrestricted=True,
            data={
                "number": number,
                "case_type": rng.choice(CASE_TYPES),
                "unit_code": unit.code,
                "officer_police_number": officer.police_number if officer else None,
                "parties": [
                    {"role": "reporter", "name": "李先生", "id_number": _valid_id_number(rng),
                     "mobile": f"13{rng.randint(5, 9)}{rng.randrange(10**8):08d}",
                     "notify": False},
                    {"role": "victim", "name": "张女士", "id_number": _valid_id_number(rng),
                     "mobile": f"15{rng.randint(0, 9)}{rng.randrange(10**8):08d}",
                     "notify": False},
                ],
                "progress": steps,
            },
            source="bench",
        )  # fmt: skip
        numbers.append(number)
    common.log(f"  {n} cases through case_upsert ({time.perf_counter() - started:.0f} s)")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    jobs, with_session = [], []
    # The reporters' proofs alone; the victims' with a session too (their own cached pages, so
    # neither variant warms the other's cache).
    parties = CaseParty.objects.select_related("case").filter(case__number__in=numbers)
    for party in parties.order_by("case_id", "role"):
        cookie = f"{PROOF_COOKIE}={proof_cookie_value(party)}"
        job = Job(request_bytes(PROGRESS_PATH, cookie), party.case.number.encode())
        if party.role == "reporter":
            jobs.append(job)
            continue
        session = store()  # as the complaint page leaves it: the mobile proven for opinions
        session_mark_verified(session, purpose=OtpPurpose.OPINION_LOOKUP, mobile=party.mobile)
        session.save()
        cookie += f"; {settings.SESSION_COOKIE_NAME}={session.session_key}"
        with_session.append(Job(request_bytes(PROGRESS_PATH, cookie), job.expect))
    if len(jobs) != n or len(with_session) != n:
        raise common.BenchError(f"{len(jobs)}+{len(with_session)} proofs made, expected {n}+{n}")
    return jobs, with_session


def directory_jobs(seed: int) -> tuple[list[Job], list[Job]]:
    """Searches for the communities the demo city's community officers serve, and the card
    of every public officer (cards made here for those without one)."""
    from django.utils.html import escape

    from minyi.directory.models import OfficerCard
    from minyi.orgs.models import Officer

    rng = random.Random(f"{seed}:directory")  # noqa: S311 - synthetic data, deterministic
    public = Officer.objects.filter(is_public=True, is_active=True)
    missing = public.filter(card__isnull=True)
    OfficerCard.objects.bulk_create([OfficerCard(officer=o) for o in missing])
    communities = sorted(
        {c for text in public.values_list("communities", flat=True) for c in text.split("、") if c}
    )
    if not communities:
        raise common.BenchError("the demo city's officers serve no communities")
    # A search must list an officer who serves the community (the query is also echoed in
    # the search box, so the community's own name would prove nothing).
    serving = {}
    for officer_name, text in public.filter(unit__is_active=True).values_list(
        "name", "communities"
    ):
        for community in text.split("、"):
            serving.setdefault(community, officer_name)
    searches = [
        Job(request_bytes(f"{DIRECTORY_PATH}?q={quote(c)}"), escape(serving[c]).encode())
        for c in communities
        if c in serving
    ]
    cards = [
        Job(request_bytes(f"{DIRECTORY_PATH}{quote(code)}/"), escape(name).encode())
        for code, name in OfficerCard.objects.filter(officer__in=public).values_list(
            "code", "officer__name"
        )
    ]
    rng.shuffle(searches)
    rng.shuffle(cards)
    return searches, cards


# --- Load ------------------------------------------------------------------------------------


def fetch(address: tuple[str, int], request: bytes) -> tuple[int, bytes]:
    """One request on its own connection; the server closes it after the response."""
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    try:
        return int(response[9:12]), response
    except ValueError:
        raise common.BenchError(f"not an HTTP response: {response[:200]!r}") from None


def _failure(page: str, job: Job, status: int, response: bytes) -> common.BenchError:
    _head, _sep, body = response.partition(b"\r\n\r\n")
    path = job.request.split(b" ", 2)[1].decode()
    return common.BenchError(
        f"{page}: GET {path} answered HTTP {status}, expected 200:\n"
        f"{body[:400].decode(errors='replace')}"
    )


@dataclass
class Figure:
    label: str
    requests: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds of this process (the load generator)
    server_cpu: float = 0.0  # CPU seconds of gunicorn's workers and their PostgreSQL backends
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


def check_page(address, page: str, jobs: list[Job], clients: int) -> None:
    """Each of up to CHECKED_VARIANTS variants once: 200, and the body shows what was asked
    for. Also warms the workers up (imports, templates, caches) before the clock."""

    @contextlib.contextmanager
    def worker():
        def handle(job: Job):
            status, response = fetch(address, job.request)
            if status != 200:
                raise _failure(page, job, status, response)
            if job.expect not in response:
                path = job.request.split(b" ", 2)[1].decode()
                raise common.BenchError(
                    f"{page}: GET {path} is 200 but does not show "
                    f"{job.expect.decode()!r}:\n{response[-600:].decode(errors='replace')}"
                )

        yield handle

    common.run_concurrently(jobs[:CHECKED_VARIANTS], clients, worker)


class ServerCpu:
    """CPU seconds used by the server side while a page is measured: gunicorn's workers and the
    PostgreSQL backends connected to the run's database, read from /proc every 0.2 s (a backend
    that ends, CONN_MAX_AGE, loses at most its last interval). On a shared machine, throughput
    follows the scheduler; CPU per request does much less."""

    INTERVAL = 0.2

    def __init__(self, server_pid: int, db_name: str):
        self.server_pid = server_pid
        self.marker = f" {db_name} ".encode()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _cpu(self, pid: int) -> float | None:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def _pids(self) -> list[int]:
        pids = []
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError), open(f"{entry.path}/cmdline", "rb") as cmd:
                    line = cmd.read(200)
                    if line.startswith(b"postgres: ") and self.marker in line:
                        pids.append(int(entry.name))
        return pids

    def _sample(self, started: bool) -> None:
        for pid in self._pids():
            cpu = self._cpu(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu if not started else 0.0)
                self.last[pid] = cpu

    def _run(self) -> None:
        while not self.stop.wait(self.INTERVAL):
            self._sample(started=True)

    def __enter__(self):
        self._sample(started=False)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._sample(started=True)

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def measure(
    address,
    figure: Figure,
    jobs: list[Job],
    clients: int,
    seconds: float,
    server_pid: int,
    db_name: str,
) -> None:
    """`clients` threads, each requesting the page's variants in turn for `seconds`."""
    lock = threading.Lock()
    counted: list[float] = []

    @contextlib.contextmanager
    def worker():
        times: list[float] = []

        def handle(offset: int):
            deadline = time.perf_counter() + seconds
            index = offset * len(jobs) // clients
            while True:
                job = jobs[index % len(jobs)]
                index += 1
                started = time.perf_counter()
                status, response = fetch(address, job.request)
                ended = time.perf_counter()
                if status != 200:
                    raise _failure(figure.label, job, status, response)
                times.append(ended - started)
                if ended >= deadline:
                    return

        yield handle
        with lock:
            counted.extend(times)

    cpu = time.process_time()
    with ServerCpu(server_pid, db_name) as server_cpu:
        elapsed = common.run_concurrently(list(range(clients)), clients, worker)
    figure.client_cpu += time.process_time() - cpu
    figure.server_cpu += server_cpu.seconds
    figure.requests += len(counted)
    figure.seconds += elapsed
    figure.latencies += counted


# --- Profile ---------------------------------------------------------------------------------


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# (label, file suffix, function): cumulative time of each, per profiled request.
_BREAKDOWN = (
    ("request through the middleware", "django/core/handlers/base.py", "get_response"),
    ("session load (SessionStore.load)", "django/contrib/sessions/backends/db.py", "load"),
    ("session save (every request)", "django/contrib/sessions/backends/db.py", "save"),
    ("DB health check (SELECT 1)", "django/db/backends/postgresql/base.py", "is_usable"),
    ("CSP header (csp middleware)", "csp/middleware.py", "process_response"),
    ("view case_progress", "minyi/cases/public_views.py", "case_progress"),
    ("  _proof (signed cookie)", "minyi/cases/public_views.py", "_proof"),
    ("  case_party_version", "minyi/cases/selectors.py", "case_party_version"),
    ("  _verified_party", "minyi/cases/public_views.py", "_verified_party"),
    ("  case_party_public", "minyi/cases/selectors.py", "case_party_public"),
    ("view directory search", "minyi/directory/views.py", "search"),
    ("  directory_search", "minyi/directory/selectors.py", "directory_search"),
    ("view officer_card", "minyi/directory/views.py", "officer_card"),
    ("  officer_card_public", "minyi/directory/selectors.py", "officer_card_public"),
    ("decrypt (Fernet)", "minyi/core/pii.py", "decrypt"),
    ("render (template)", "django/shortcuts.py", "render"),
    ("context processors", "django/template/context.py", "bind_template"),
    ("SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
    ("queryset to SQL (compiler.as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
)


def profile_pages(pages: list[tuple[Figure, list[Job]]], requests: int) -> None:
    """Each page `requests` times in-process through Django's test client (no HTTP): once
    without the profiler, for the time per request and its SQL statements (with their time),
    then under cProfile; prints the top functions by own time, per request."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=common.HOST, HTTP_USER_AGENT=USER_AGENT)
    print("\nProfile (in-process, Django test client; times per request):")
    for figure, jobs in pages:
        calls = []
        for job in jobs[:requests]:
            head = job.request.decode().split("\r\n")
            path = head[0].split(" ")[1]
            cookie = next((h[8:] for h in head if h.startswith("Cookie: ")), "")
            calls.append((path, {"HTTP_COOKIE": cookie} if cookie else {}))
        for path, extra in calls[:3]:  # warm-up
            client.cookies.clear()
            client.get(path, **extra)
        statements: list[tuple[str, float]] = []

        def record(execute, sql_text, params, many, context, statements=statements):
            started = time.perf_counter()
            try:
                return execute(sql_text, params, many, context)
            finally:
                statements.append((sql_text, time.perf_counter() - started))

        with connection.execute_wrapper(record):
            started = time.perf_counter()
            for path, extra in calls:
                client.cookies.clear()  # only the job's own cookie, as over HTTP
                response = client.get(path, **extra)
                if response.status_code != 200:
                    raise common.BenchError(f"profile {path}: HTTP {response.status_code}")
            plain = (time.perf_counter() - started) / len(calls)
        sql_ms = sum(t for _s, t in statements) / len(calls) * 1000
        print(
            f"\n{figure.label}: {plain * 1000:.2f} ms unprofiled, of which SQL {sql_ms:.2f} ms "
            f"in {len(statements) / len(calls):.1f} statements (mean per request):"
        )
        by_text: dict[str, list[float]] = {}
        for text, seconds in statements:
            by_text.setdefault(text, []).append(seconds)
        for text, times in by_text.items():
            print(
                f"  {sum(times) / len(calls) * 1000:6.2f} ms {len(times) / len(calls):4.1f}×  "
                f"{' '.join(text.split())[:150]}"
            )
        profiler = cProfile.Profile()
        profiler.enable()
        for path, extra in calls:
            client.cookies.clear()
            client.get(path, **extra)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
        print(f"  profiled: {total / len(calls) * 1000:.2f} ms; parts (cumulative):")
        for label, suffix, name in _BREAKDOWN:
            spent = sum(
                ct
                for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items()
                if func == name and path.replace("\\", "/").endswith(suffix)
            )
            if spent:
                print(f"  {spent / len(calls) * 1000:6.2f} ms  {label}")
        print("  top functions by own time:")
        ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:15]
        for (path, line, name), (_cc, calls_n, tt, ct, _callers) in ranked:
            print(
                f"  {tt / len(calls) * 1000:6.2f} ms own {ct / len(calls) * 1000:7.2f} ms cum "
                f"{calls_n / len(calls):7.1f}×  {_short(path)}:{line}({name})"
            )


# --- Run -------------------------------------------------------------------------------------


@dataclass
class Result:
    machine_at_start: str
    data: dict[str, int]
    figures: dict[str, Figure]


def run(args, db_name: str, server: common.Server) -> Result:
    at_start = common.machine_at_start()
    common.migrate_and_build_city()
    started = time.perf_counter()
    data = load_cases(db_name, args.cases, args.seed)
    progress_jobs, progress_session_jobs = service_cases_and_proofs(args.sessions, args.seed)
    searches, cards = directory_jobs(args.seed)
    data.update(sessions=len(progress_jobs), communities=len(searches), cards=len(cards))
    common.log(f"data ready in {time.perf_counter() - started:.0f} s")
    common.checkpoint()
    server.start()
    address = (common.HOST, server.sock.getsockname()[1])
    figures = {
        "hello": Figure("hello world (same server)"),
        "progress": Figure("case progress"),
        "progress_session": Figure("case progress + session"),
        "search": Figure("directory search"),
        "card": Figure("officer card"),
    }
    jobs = {
        "hello": [Job(request_bytes(HELLO_PATH), b"hello")],
        "progress": progress_jobs,
        "progress_session": progress_session_jobs,
        "search": searches,
        "card": cards,
    }
    order = list(figures)
    checked: set[str] = set()
    for round_index in range(args.rounds):
        for name in order[round_index % len(order) :] + order[: round_index % len(order)]:
            if name not in checked:
                check_page(address, figures[name].label, jobs[name], args.clients)
                checked.add(name)
            measure(
                address,
                figures[name],
                jobs[name],
                args.clients,
                args.seconds,
                server.proc.pid,
                db_name,
            )
            figure = figures[name]
            common.log(
                f"round {round_index + 1}: {figure.label}: {figure.rate:.0f} req/s so far, "
                f"p95 {figure.percentile(0.95):.1f} ms"
            )
    server.stop()
    if args.profile:
        profile_pages([(figures[n], jobs[n]) for n in order], requests=args.profile_requests)
    return Result(at_start, data, figures)


def print_report(result: Result, args) -> None:
    figures = result.figures
    hello = figures["hello"].rate
    common.print_heading(result.machine_at_start)
    data = result.data
    print(
        f"{data['cases']:,} cases ({data['parties']:,} parties, {data['progress']:,} progress "
        f"steps) + {data['sessions']} through case_upsert with a proof cookie each; "
        f"{data['communities']} communities, {data['cards']} officer cards; "
        f"{args.clients} clients, {args.workers} gunicorn workers, {args.rounds} × "
        f"{args.seconds:g} s per page"
        + ("; WITH CONN_HEALTH_CHECKS (not the site's default)" if args.health_checks else "")
    )
    print(
        f"{'':<26} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'/hello':>7} "
        f"{'client CPU':>10} {'server CPU ms/req':>17} {'CPU /hello':>10}"
    )
    hello_cpu = figures["hello"].server_cpu / max(figures["hello"].requests, 1)
    for figure in figures.values():
        cpu = figure.server_cpu / max(figure.requests, 1)
        print(
            f"{figure.label:<26} {figure.requests:>9} {figure.rate:>8.0f} "
            f"{figure.percentile(0.5):>8.1f} {figure.percentile(0.95):>8.1f} "
            f"{figure.rate / hello:>7.2f} {figure.client_cpu / figure.seconds:>10.0%} "
            f"{cpu * 1000:>17.2f} {hello_cpu / cpu if cpu else 0:>10.2f}"
        )
    print(
        "server CPU: gunicorn's workers and their PostgreSQL backends, per request; CPU /hello "
        "is hello's CPU per request over the page's (req/s /hello if server CPU were the limit)"
    )
    progress = figures["progress"].rate
    directory = min(figures["search"].rate, figures["card"].rate)
    print(
        f"portal: case progress {progress:.0f} req/s; directory {directory:.0f} req/s; "
        f"hello {hello:.0f} req/s; ratio {min(progress, directory) / hello:.2f}",
        flush=True,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 cases, 1 round of 5 s")
    parser.add_argument("--tenth", action="store_true", help="a tenth of --cases (20,000)")
    parser.add_argument("--cases", type=int, default=200_000, help="bulk cases [200000]")
    parser.add_argument(
        "--sessions", type=int, default=300, help="cases via case_upsert with a proof [300]"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads [4]")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--seconds", type=float, default=20, help="per page and round [20]")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, order rotated [3]")
    parser.add_argument("--timeout", type=int, default=1200, help="abort after seconds [1200]")
    parser.add_argument("--seed", type=int, default=20261124, help="data generator seed")
    parser.add_argument("--profile", action="store_true", help="also cProfile each page")
    parser.add_argument(
        "--health-checks",
        action="store_true",
        help="server with CONN_HEALTH_CHECKS (to measure its cost; off by default)",
    )
    parser.add_argument(
        "--profile-requests", type=int, default=50, help="requests per page profiled [50]"
    )
    args = parser.parse_args(argv)
    if args.tenth:
        args.cases //= 10
    if args.quick:
        args.cases, args.sessions, args.rounds, args.seconds = QUICK_CASES, 100, 1, 5
        args.timeout = min(args.timeout, 300)
    if min(args.cases, args.sessions, args.clients, args.workers, args.rounds) < 1:
        parser.error("--cases, --sessions, --clients, --workers and --rounds must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench_portal", args.timeout) as session:
        session.create_database()
        sock = common.listening_socket(backlog=256)
        session.on_exit("close the web socket", sock.close)
        server = common.Server(
            app="minyi.wsgi:application",
            sock=sock,
            workers=args.workers,
            log_path=session.workdir / "gunicorn.log",
        )
        session.on_exit("stop gunicorn", server.stop)
        session.show_on_failure("gunicorn", server.log_path)
        environment = {"DJANGO_SETTINGS_MODULE": SETTINGS, "MINYI_SMS_BACKEND": "console"}
        if args.health_checks:
            environment["MINYI_DB_HEALTH_CHECKS"] = "1"
        common.configure_environment(session.db_name, environment)
        result = run(args, session.db_name, server)
    if result is not None:
        print_report(result, args)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

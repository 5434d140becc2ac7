"""Votes benchmark (票选): ballots per second end to end (code by SMS, then the ballot) against
a hello-world view on the same server in the same run, and a burst of voters arriving at
random (Poisson) with the latency of each request.

Run from the repository root: `.venv/bin/python bench/vote.py` (or `make bench-vote`);
`--tenth` for a tenth of the burst (4,500 voters in about a minute at the same rate).

1. Creates a PostgreSQL database `minyi_bench_vote_<pid>` on 127.0.0.1:5432 (user postgres),
   migrates it and builds the demo city. Two campaigns of the city bureau are made and opened
   through the staff services (`campaign_create`, `option_add`, `campaign_open`) as
   `city_admin`: 8 options, approval voting, at most 3 choices. One takes the throughput
   phase, the other the burst, so each phase casts into one campaign, which is the real case:
   every ballot of a campaign queues on that campaign's row lock (ballots.py).
2. Starts gunicorn (`--workers`, default 4 sync workers) with bench/portal_settings.py:
   Minyi's URLs plus the hello-world view of bench/portal_urls.py, so both go through the same
   server and middleware. `MINYI_SMS_BACKEND=console` and no worker: the code SMS stays in the
   outbox, where the "phone" reads it.
3. Each voter: POST /api/v1/votes/<code>/otp {mobile} (202); the script reads the code from
   the outbox (the newest `OutboundSms` with purpose otp for that mobile's lookup hash, with
   psycopg, one connection per client thread), then POST /api/v1/votes/<code>/ballots
   {mobile, code, choices} (201 {receipt, seq}); the code is verified in that request.
   - Throughput: `--clients` threads (default 8), each voting voter after voter for
     `--seconds` (default 20), `--rounds` rounds (default 2), alternating with the same
     threads requesting GET /bench/hello. Ratio = ballots/s ÷ hello requests/s. Meanwhile a
     sampler reads pg_stat_activity every 20 ms: how many of the bench database's backends
     are active, and how many wait on a lock (the campaign row).
   - Burst: `--voters` (default 45,000) arriving as a Poisson process at `--rate` (default
     75/s: 45,000 in 10 minutes). Each asks for a code on arrival, reads it, waits a "typing"
     time drawn from `--think` (default 3–15 s) and casts. `--burst-threads` (default 96)
     threads serve the schedule; a request that starts late because all threads were busy is
     reported as lateness: once the server falls behind, every thread waits on it and the
     times "from arrival" (lateness + the request) are what a voter sees.
4. Afterwards, per campaign: ballots == successful casts, no voter key twice, no rejection,
   receipts and seqs all distinct, and `chain_verify` walks the chain (entries == ballots).
   Then, with gunicorn stopped, half of `--inprocess` voters (default 400) go through
   `otp_request`, `otp_verify` and `ballot_cast` in-process, one at a time: the time per step,
   the time from the campaign's `SELECT … FOR UPDATE` to the commit, and the serial ceiling
   1 / that time for one campaign. The other half send the two requests through Django's test
   client (no HTTP), beside GET hello; with `--profile` under cProfile, with the parts' times.
5. Prints the tables and, last, one summary line:
   `vote: <b> ballots/s; hello <h> req/s; ratio <b/h>; burst <n> voters at <r>/s: ballot p99
   <x> ms, otp p99 <y> ms (from arrival <x'> / <y'> ms); checks ok|FAILED`.

Addresses: the per-address code limits (MINYI_OTP_PER_IP_HOUR/_DAY, 20 and 100) are left as
they are. The house trusts X-Forwarded-For behind `MINYI_TRUSTED_PROXY_COUNT` proxies
(minyi/core/net.py), so gunicorn runs as if behind one trusted proxy
(MINYI_TRUSTED_PROXY_COUNT=1) and each request carries its voter's address; voters share
addresses `--per-address` at a time (default 5, under the hourly limit of 20).

The run is bounded (--timeout); gunicorn is stopped and the database dropped at the end, on
error and on Ctrl-C too. Exit status 0 done (1 also when a check fails), 2 timed out,
130 interrupted.
"""

import argparse
import contextlib
import heapq
import json
import queue
import random
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import common
import psycopg

SETTINGS = "bench.portal_settings"
HELLO_PATH = "/bench/hello"  # bench/portal_urls.py
OPTIONS = 8
MAX_CHOICES = 3
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) minyi-bench"
CODE_IN_SMS = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
FULL_VOTERS = 45_000


# --- HTTP ------------------------------------------------------------------------------------


def _request(method: str, path: str, body: bytes = b"", ip: str = "") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {common.HOST}",
        f"User-Agent: {USER_AGENT}",
        "Accept: application/json",
        "Connection: close",
    ]
    if ip:
        lines.append(f"X-Forwarded-For: {ip}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fetch(address, request: bytes) -> tuple[int, bytes, float]:
    """One request on its own connection (the sync worker closes it): status, body, seconds."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=120) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    elapsed = time.perf_counter() - started
    response = b"".join(chunks)
    try:
        status = int(response[9:12])
    except ValueError:
        raise common.BenchError(f"not an HTTP response: {response[:200]!r}") from None
    return status, response.partition(b"\r\n\r\n")[2], elapsed


def _error_code(body: bytes) -> str:
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        if isinstance(data, dict):
            return str(data.get("code") or data.get("detail") or "?")[:40]
    return body[:60].decode(errors="replace")


# --- Voters ----------------------------------------------------------------------------------


@dataclass
class Voter:
    mobile: str
    mobile_hash: str
    ip: str
    choices: list[int]


def make_voters(n: int, seed: int, per_address: int, tag: str) -> list[Voter]:
    """N distinct synthetic mobiles with their lookup hashes (made before the clock), an
    address shared by `per_address` voters, and 1–3 choices each."""
    from minyi.core.pii import lookup_hash, normalize_mobile

    rng = random.Random(f"{seed}:{tag}")  # noqa: S311 - synthetic data, deterministic
    numbers = rng.sample(range(10**8), n)
    offset = {"throughput": 0, "burst": 1 << 14, "inprocess": 1 << 15}[tag]
    voters = []
    for i, number in enumerate(numbers):
        mobile = f"{common.MOBILE_PREFIXES[number % len(common.MOBILE_PREFIXES)]}{number:08d}"
        a = offset + i // per_address
        ip = f"{36 + (a >> 16)}.{(a >> 8) & 255}.{a & 255}.{a * 37 % 254 + 1}"
        choices = rng.sample(range(1, OPTIONS + 1), rng.randint(1, MAX_CHOICES))
        voters.append(
            Voter(mobile, lookup_hash("mobile", normalize_mobile(mobile)), ip, sorted(choices))
        )
    return voters


class Outbox:
    """The voters' phones: the code from the newest code SMS to the mobile, read with psycopg
    over a few shared connections (the client threads are many, PostgreSQL's slots are not)."""

    def __init__(self, db_name: str, table: str, connections: int = 4):
        self.pool: queue.Queue = queue.Queue()
        for _ in range(connections):
            self.pool.put(
                psycopg.connect(
                    host=common.PG_HOST,
                    port=common.PG_PORT,
                    user=common.PG_USER,
                    dbname=db_name,
                    autocommit=True,
                )
            )
        self.connections = connections
        self.query = (
            f"SELECT body FROM {table} WHERE to_mobile_hash = %s AND purpose = 'otp' "  # noqa: S608 - table name from the model
            "ORDER BY id DESC LIMIT 1"
        )

    def code(self, voter: Voter) -> str:
        conn = self.pool.get()
        try:
            row = conn.execute(self.query, (voter.mobile_hash,)).fetchone()
        finally:
            self.pool.put(conn)
        match = CODE_IN_SMS.search(row[0]) if row else None
        if match is None:
            raise common.BenchError(f"no code SMS in the outbox for voter {voter.ip}")
        return match.group(0)

    def close(self) -> None:
        for _ in range(self.connections):
            self.pool.get().close()


# --- Figures ---------------------------------------------------------------------------------


@dataclass
class Times:
    values: list[float] = field(default_factory=list)

    def pct(self, p: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    def mean(self) -> float:
        return sum(self.values) / len(self.values) * 1000 if self.values else 0.0


@dataclass
class Phase:
    """What one phase measured; merged from the client threads under `lock`."""

    otp: Times = field(default_factory=Times)
    read: Times = field(default_factory=Times)
    ballot: Times = field(default_factory=Times)
    hello: Times = field(default_factory=Times)
    late: Times = field(default_factory=Times)
    otp_due: Times = field(default_factory=Times)  # from the voter's arrival to the answer
    ballot_due: Times = field(default_factory=Times)  # from the end of the think time
    ballots: int = 0
    hellos: int = 0
    ballot_seconds: float = 0.0
    hello_seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    receipts: list[tuple[str, int]] = field(default_factory=list)
    lock_samples: list[tuple[int, int]] = field(default_factory=list)  # (active, waiting)
    client_cpu: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def cast_one(address, outbox: Outbox, campaign_code: str, voter: Voter, phase: Phase) -> bool:
    """Code, read, ballot for one voter (no think time); True when the ballot was counted."""
    base = f"/api/v1/votes/{campaign_code}"
    status, body, otp_s = fetch(
        address, _request("POST", f"{base}/otp", json.dumps({"mobile": voter.mobile}).encode(),
                          voter.ip)
    )  # fmt: skip
    if status != 202:
        phase.error(f"otp HTTP {status} {_error_code(body)}")
        return False
    started = time.perf_counter()
    code = outbox.code(voter)
    read_s = time.perf_counter() - started
    ok, ballot_s = post_ballot(address, campaign_code, voter, code, phase)
    with phase.lock:
        phase.otp.values.append(otp_s)
        phase.read.values.append(read_s)
        if ok:
            phase.ballot.values.append(ballot_s)
    return ok


def post_ballot(address, campaign_code, voter: Voter, code: str, phase: Phase):
    payload = {"mobile": voter.mobile, "code": code, "choices": voter.choices}
    status, body, seconds = fetch(
        address,
        _request("POST", f"/api/v1/votes/{campaign_code}/ballots", json.dumps(payload).encode(),
                 voter.ip),
    )  # fmt: skip
    if status != 201:
        phase.error(f"ballot HTTP {status} {_error_code(body)}")
        return False, seconds
    data = json.loads(body)
    with phase.lock:
        phase.ballots += 1
        phase.receipts.append((data["receipt"], data["seq"]))
    return True, seconds


class LockSampler:
    """Every 20 ms: the bench database's active backends and those waiting on a lock."""

    def __init__(self, db_name: str, phase: Phase):
        self.db_name, self.phase = db_name, phase
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with common.admin_connection() as conn:
            while not self.stop.wait(0.02):
                active, waiting = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'), "
                    "count(*) FILTER (WHERE wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.db_name,),
                ).fetchone()
                self.phase.lock_samples.append((active, waiting))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


def measure_throughput(address, args, db_name, table, campaign_code, voters, phase) -> None:
    """Rounds of hello and of voting, each from `--clients` threads for `--seconds`."""
    pool = iter(voters)
    pool_lock = threading.Lock()

    def next_voter():
        with pool_lock:
            voter = next(pool, None)
        if voter is None:
            raise common.BenchError("out of voters: raise --throughput-voters")
        return voter

    outbox = Outbox(db_name, table, connections=min(args.clients, 8))

    @contextlib.contextmanager
    def voting_worker():
        yield lambda _job: vote_loop(outbox)

    def vote_loop(outbox):
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            cast_one(address, outbox, campaign_code, next_voter(), phase)

    hello_request = _request("GET", HELLO_PATH)

    @contextlib.contextmanager
    def hello_worker():
        times: list[float] = []

        def loop(_job):
            deadline = time.perf_counter() + args.seconds
            while time.perf_counter() < deadline:
                status, body, seconds = fetch(address, hello_request)
                if status != 200 or body != b"hello":
                    raise common.BenchError(f"hello: HTTP {status} {body[:100]!r}")
                times.append(seconds)

        yield loop
        with phase.lock:
            phase.hello.values.extend(times)

    # Warm-up: imports, templates, connections in every worker, before any clock.
    for _ in range(args.workers * 4):
        fetch(address, hello_request)
    for _ in range(args.workers * 2):
        cast_one(address, outbox, campaign_code, next_voter(), Phase())

    for round_index in range(args.rounds):
        cpu = time.process_time()
        before = len(phase.hello.values)
        elapsed = common.run_concurrently(list(range(args.clients)), args.clients, hello_worker)
        phase.hellos += len(phase.hello.values) - before
        phase.hello_seconds += elapsed
        before = phase.ballots
        with LockSampler(db_name, phase):
            elapsed = common.run_concurrently(
                list(range(args.clients)), args.clients, voting_worker
            )
        phase.ballot_seconds += elapsed
        phase.client_cpu += time.process_time() - cpu
        common.log(
            f"round {round_index + 1}: hello {phase.hellos / phase.hello_seconds:.0f} req/s, "
            f"ballots {(phase.ballots - before) / elapsed:.1f}/s "
            f"(so far {phase.ballots / phase.ballot_seconds:.1f}/s)"
        )
    outbox.close()


def run_burst(address, args, db_name, table, campaign_code, voters, phase) -> tuple[float, float]:
    """Poisson arrivals at `--rate`; each voter: code on arrival, ballot after a think time.
    Returns the wall seconds from the start to the last response, and the last arrival."""
    rng = random.Random(f"{args.seed}:arrivals")  # noqa: S311 - synthetic load, deterministic
    low, high = args.think
    heap: list[tuple[float, int, str, Voter, str]] = []
    at = 0.0
    for i, voter in enumerate(voters):
        at += rng.expovariate(args.rate)
        heap.append((at, i, "otp", voter, ""))
    heapq.heapify(heap)
    think = {i: rng.uniform(low, high) for i in range(len(voters))}
    cond = threading.Condition()
    work: list = []  # due events, FIFO
    pending = len(voters) * 2
    done = threading.Event()
    state = {"pending": pending}
    base = f"/api/v1/votes/{campaign_code}"
    start = time.perf_counter() + 1.0
    errors: list[BaseException] = []

    def finished_one(n: int = 1) -> None:
        with cond:
            state["pending"] -= n
            if state["pending"] <= 0:
                done.set()
            cond.notify_all()

    outbox = Outbox(db_name, table)

    def worker() -> None:
        try:
            while not done.is_set():
                with cond:
                    while not work and not done.is_set():
                        cond.wait(0.2)
                    if done.is_set() and not work:
                        return
                    due, i, kind, voter, code = work.pop(0)
                now = time.perf_counter() - start
                late = max(0.0, now - due)
                if kind == "otp":
                    status, body, seconds = fetch(
                        address,
                        _request("POST", f"{base}/otp",
                                 json.dumps({"mobile": voter.mobile}).encode(), voter.ip),
                    )  # fmt: skip
                    with phase.lock:
                        phase.late.values.append(late)
                        phase.otp_due.values.append(late + seconds)
                    if status != 202:
                        phase.error(f"otp HTTP {status} {_error_code(body)}")
                        finished_one(2)
                        continue
                    with phase.lock:
                        phase.otp.values.append(seconds)
                    t0 = time.perf_counter()
                    code = outbox.code(voter)
                    with phase.lock:
                        phase.read.values.append(time.perf_counter() - t0)
                    with cond:
                        heapq.heappush(
                            heap,
                            (time.perf_counter() - start + think[i], i, "ballot", voter, code),
                        )
                        cond.notify_all()
                    finished_one()
                else:
                    ok, seconds = post_ballot(address, campaign_code, voter, code, phase)
                    with phase.lock:
                        phase.late.values.append(late)
                        if ok:
                            phase.ballot.values.append(seconds)
                            phase.ballot_due.values.append(late + seconds)
                    finished_one()
        except BaseException as exc:
            errors.append(exc)
            done.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.burst_threads)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    last_log = time.perf_counter()
    while not done.is_set():
        now = time.perf_counter() - start
        with cond:
            while heap and heap[0][0] <= now:
                work.append(heapq.heappop(heap))
            if work:
                cond.notify_all()
            wait = min(0.005, heap[0][0] - now) if heap else 0.05
        if time.perf_counter() - last_log > 15:
            last_log = time.perf_counter()
            common.log(
                f"burst: {now:.0f} s, {len(phase.otp.values)} codes, {phase.ballots} ballots, "
                f"{sum(phase.errors.values())} errors, ballot p99 so far "
                f"{phase.ballot.pct(0.99):.0f} ms"
            )
        time.sleep(max(0.0005, wait))
    elapsed = time.perf_counter() - start
    phase.client_cpu += time.process_time() - cpu
    for thread in threads:
        thread.join(timeout=5)
    outbox.close()
    if errors:
        raise errors[0]
    phase.ballot_seconds = elapsed
    return elapsed, at


# --- Setup, checks, in-process split ---------------------------------------------------------


def open_campaign(code: str, title: str):
    from django.utils import timezone

    from minyi.orgs.choices import Role
    from minyi.orgs.models import User
    from minyi.votes.campaigns import campaign_create, campaign_open, option_add
    from minyi.votes.models import CampaignKind

    actor = User.objects.get(role=Role.ADMIN, username="city_admin")
    now = timezone.now()
    campaign = campaign_create(
        actor,
        unit=actor.unit,
        title=title,
        description="2027 年民生实事项目，请选出您最关心的三项。",
        kind=CampaignKind.APPROVAL,
        max_choices=MAX_CHOICES,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=2),
        code=code,
    )
    for number in range(1, OPTIONS + 1):
        option_add(actor, campaign, title=f"实事项目{number}", text=f"项目{number}的介绍")
    return campaign_open(actor, campaign)


def check_campaign(campaign, phase: Phase, expected: int) -> list[str]:
    """What is wrong with the campaign's ballots and chain after a phase ([] = all good)."""
    from django.db.models import Count

    from minyi.votes.chain import chain_verify
    from minyi.votes.models import Ballot, Rejection

    problems = []
    ballots = Ballot.objects.filter(campaign=campaign)
    count = ballots.count()
    if count != expected:
        problems.append(f"{count} ballots, expected {expected}")
    twice = ballots.values("voter_key").annotate(n=Count("id")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} voter keys with more than one ballot")
    rejections = Rejection.objects.filter(campaign=campaign).count()
    if rejections:
        problems.append(f"{rejections} rejections")
    receipts = [r for r, _s in phase.receipts]
    seqs = [s for _r, s in phase.receipts]
    if len(set(receipts)) != len(receipts) or len(set(seqs)) != len(seqs):
        problems.append("receipts or seqs repeated in the responses")
    report = chain_verify(campaign)
    if not report.ok:
        problems.append(f"chain fails at seq {report.failed_seq}: {report.problem}")
    elif report.entries != count + rejections:
        problems.append(f"chain has {report.entries} entries for {count + rejections} rows")
    return problems


def table_sizes() -> dict[str, int]:
    from minyi.integrations.sms.models import OutboundSms
    from minyi.verification.models import OtpChallenge
    from minyi.votes.models import Ballot, ChainEntry

    return {
        "ballots": Ballot.objects.count(),
        "chain entries": ChainEntry.objects.count(),
        "codes (OtpChallenge)": OtpChallenge.objects.count(),
        "outbox (OutboundSms)": OutboundSms.objects.count(),
    }


def inprocess_split(campaign, voters: list[Voter]) -> dict[str, Times]:
    """otp_request, reading the code, otp_verify and ballot_cast in-process, one voter at a
    time: ballot_cast is the time the campaign's row lock is held (it is taken first)."""
    from django.db import connection

    from minyi.integrations.sms.models import OutboundSms
    from minyi.verification.models import OtpPurpose
    from minyi.verification.services import otp_request, otp_verify
    from minyi.votes.ballots import ballot_cast
    from minyi.votes.models import Campaign

    split = {k: Times() for k in ("otp_request", "read code", "otp_verify", "ballot_cast")}
    split["row lock held"] = Times()
    lock_sql = f'FROM "{Campaign._meta.db_table}"'
    seen: dict[str, float | int] = {}

    def watch(execute, sql_text, params, many, context):
        if "lock_at" not in seen and "FOR UPDATE" in sql_text and lock_sql in sql_text:
            seen["lock_at"] = time.perf_counter()
        seen["statements"] = int(seen.get("statements", 0)) + 1
        if "lock_at" in seen:
            seen["locked_statements"] = int(seen.get("locked_statements", 0)) + 1
        return execute(sql_text, params, many, context)

    counts, locked_counts = [], []
    for voter in voters:
        t0 = time.perf_counter()
        otp_request(mobile=voter.mobile, purpose=OtpPurpose.VOTE, ip=voter.ip,
                    subject=campaign.code)  # fmt: skip
        t1 = time.perf_counter()
        body = (
            OutboundSms.objects.filter(to_mobile_hash=voter.mobile_hash, purpose="otp")
            .order_by("-id")
            .values_list("body", flat=True)
            .first()
        )
        code = CODE_IN_SMS.search(body).group(0)
        t2 = time.perf_counter()
        mobile = otp_verify(mobile=voter.mobile, purpose=OtpPurpose.VOTE, code=code,
                            subject=campaign.code)  # fmt: skip
        t3 = time.perf_counter()
        seen.clear()
        with connection.execute_wrapper(watch):
            ballot_cast(campaign, mobile=mobile, choices=voter.choices, ip=voter.ip)
        t4 = time.perf_counter()  # the lock goes with the commit, just before the return
        counts.append(seen.get("statements", 0))
        locked_counts.append(seen.get("locked_statements", 0))
        split["row lock held"].values.append(t4 - seen.get("lock_at", t4))
        for key, seconds in zip(
            ("otp_request", "read code", "otp_verify", "ballot_cast"),
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3),
            strict=True,
        ):
            split[key].values.append(seconds)
    split["statements"] = Times([n / 1000 for n in counts])  # shown as counts
    split["locked statements"] = Times([n / 1000 for n in locked_counts])
    return split


def inprocess_requests(
    campaign, voters: list[Voter], profile: bool, lines: list[str]
) -> dict[str, Times]:
    """The same two requests through Django's test client (no HTTP, no gunicorn), one voter
    at a time, and the hello view: what the framework adds to the services. With `profile`,
    a cProfile of the voters' requests, cumulative time of the parts, per ballot."""
    import cProfile
    import pstats

    from django.test import Client

    from minyi.integrations.sms.models import OutboundSms

    client = Client(HTTP_HOST=common.HOST)
    times = {k: Times() for k in ("GET hello", "POST otp", "POST ballots")}
    base = f"/api/v1/votes/{campaign.code}"
    for _ in range(5):
        client.get(HELLO_PATH)  # warm-up: imports, the URLconf
    for _ in range(50):
        started = time.perf_counter()
        client.get(HELLO_PATH)
        times["GET hello"].values.append(time.perf_counter() - started)
    profiler = cProfile.Profile() if profile else None
    for voter in voters:
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        response = client.post(
            f"{base}/otp",
            {"mobile": voter.mobile},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=voter.ip,
        )
        times["POST otp"].values.append(time.perf_counter() - started)
        if response.status_code != 202:
            raise common.BenchError(f"in-process otp: HTTP {response.status_code}")
        if profiler:
            profiler.disable()
        body = (
            OutboundSms.objects.filter(to_mobile_hash=voter.mobile_hash, purpose="otp")
            .order_by("-id")
            .values_list("body", flat=True)
            .first()
        )
        payload = {"mobile": voter.mobile, "code": CODE_IN_SMS.search(body).group(0),
                   "choices": voter.choices}  # fmt: skip
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        response = client.post(f"{base}/ballots", payload, content_type="application/json",
                               HTTP_X_FORWARDED_FOR=voter.ip)  # fmt: skip
        times["POST ballots"].values.append(time.perf_counter() - started)
        if profiler:
            profiler.disable()
        if response.status_code != 201:
            raise common.BenchError(f"in-process ballot: HTTP {response.status_code}")
    if profiler:
        stats = pstats.Stats(profiler)
        total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.stats.values())
        lines.append(f"\nProfile of {len(voters)} voters' two requests (cProfile, in-process): "
              f"{total / len(voters) * 1000:.1f} ms a voter; cumulative ms a voter:")  # fmt: skip
        for label, suffix, name in _BREAKDOWN:
            spent = sum(
                ct
                for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
                if func == name and path.replace("\\", "/").endswith(suffix)
            )
            lines.append(f"  {spent / len(voters) * 1000:7.2f}  {label}")
        lines.append("  top functions by own time (ms a voter, own / cumulative, calls):")
        ranked = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:15]
        for (path, line, name), (_cc, calls, tt, ct, _callers) in ranked:
            short = path.split("site-packages/")[-1].split("/work/main/")[-1]
            lines.append(
                f"  {tt / len(voters) * 1000:6.2f} {ct / len(voters) * 1000:7.2f} "
                f"{calls / len(voters):6.1f}×  {short}:{line}({name})"
            )
    return times


_BREAKDOWN = (
    ("both requests through Django", "django/core/handlers/base.py", "get_response"),
    ("  view votes_otp_api", "minyi/votes/api.py", "votes_otp_api"),
    ("  view votes_ballot_api", "minyi/votes/api.py", "votes_ballot_api"),
    ("  ninja: operation run (parsing, view, response)", "ninja/operation.py", "run"),
    ("  _body (JSON + pydantic)", "minyi/votes/api.py", "_body"),
    ("  _refuse_outside_window", "minyi/votes/api.py", "_refuse_outside_window"),
    ("  otp_request", "minyi/verification/services.py", "otp_request"),
    ("    throttle_hit (per address)", "minyi/verification/services.py", "throttle_hit"),
    ("    sms_enqueue", "minyi/integrations/sms/services.py", "sms_enqueue"),
    ("    _lock_row (per mobile)", "minyi/verification/services.py", "_lock_row"),
    ("  otp_verify", "minyi/verification/services.py", "otp_verify"),
    ("  ballot_cast", "minyi/votes/ballots.py", "ballot_cast"),
    ("    selection_vector", "minyi/votes/ballots.py", "selection_vector"),
    ("    chain_append", "minyi/votes/chain.py", "chain_append"),
    ("  _campaign (lookup by code)", "minyi/votes/api.py", "_campaign"),
    ("  commits (atomic __exit__)", "django/db/transaction.py", "__exit__"),
    ("  SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
    ("  queryset to SQL (compiler.as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
)


# --- Run -------------------------------------------------------------------------------------


@dataclass
class Result:
    machine_at_start: str
    machine_at_end: str = ""
    throughput: Phase | None = None
    burst: Phase | None = None
    burst_voters: int = 0
    burst_seconds: float = 0.0
    burst_span: float = 0.0  # the last arrival, seconds after the first
    split: dict[str, Times] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


def run(args, db_name: str, server: common.Server) -> Result:
    result = Result(common.machine_at_start())
    common.migrate_and_build_city()
    from minyi.integrations.sms.models import OutboundSms

    table = OutboundSms._meta.db_table
    fast = open_campaign("benchrate", "民生实事票选（吞吐）")
    burst = open_campaign("benchburst", "民生实事票选（高峰）")
    pools = {
        "throughput": make_voters(args.throughput_voters, args.seed, args.per_address,
                                  "throughput"),
        "burst": make_voters(args.voters, args.seed, args.per_address, "burst"),
        "inprocess": make_voters(args.inprocess, args.seed, args.per_address, "inprocess"),
    }  # fmt: skip
    common.checkpoint()
    server.start()
    address = (common.HOST, server.sock.getsockname()[1])
    if args.rounds:
        phase = Phase()
        measure_throughput(address, args, db_name, table, fast.code, pools["throughput"], phase)
        result.throughput = phase
        expected = phase.ballots + args.workers * 2  # the warm-up voters
        result.problems += [
            f"throughput campaign: {p}" for p in check_campaign(fast, phase, expected)
        ]
        if phase.errors:
            result.problems.append(f"throughput errors: {phase.errors}")
    if args.voters:
        common.checkpoint()
        phase = Phase()
        common.log(f"burst: {args.voters} voters at {args.rate:g}/s")
        result.burst_seconds, result.burst_span = run_burst(
            address, args, db_name, table, burst.code, pools["burst"], phase
        )
        result.burst, result.burst_voters = phase, args.voters
        result.problems += [
            f"burst campaign: {p}" for p in check_campaign(burst, phase, args.voters)
        ]
        if phase.errors:
            result.problems.append(f"burst errors: {phase.errors}")
    result.machine_at_end = common.machine()
    server.stop()
    result.sizes = table_sizes()
    if args.inprocess:
        half = len(pools["inprocess"]) // 2
        result.split = inprocess_split(fast, pools["inprocess"][:half])
        result.split.update(
            inprocess_requests(fast, pools["inprocess"][half:], args.profile, result.profile)
        )
    return result


def print_report(result: Result, args) -> None:
    common.print_heading(result.machine_at_start)
    print(f"at the end: {result.machine_at_end}")
    print(
        f"gunicorn {args.workers} sync workers; campaigns of {OPTIONS} options, approval, up to "
        f"{MAX_CHOICES} choices; addresses via X-Forwarded-For (MINYI_TRUSTED_PROXY_COUNT=1), "
        f"{args.per_address} voters an address; per-address code limits unchanged"
    )
    hello_rate = ballot_rate = 0.0
    t = result.throughput
    if t:
        hello_rate = t.hellos / t.hello_seconds
        ballot_rate = t.ballots / t.ballot_seconds
        print(
            f"\nThroughput: {args.clients} clients, {args.rounds} × {args.seconds:g} s each, "
            "one campaign"
        )
        print(f"{'':<34} {'count':>7} {'per s':>7} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7}")
        print(
            f"{'hello world (same server)':<34} {t.hellos:>7} {hello_rate:>7.0f} "
            f"{t.hello.mean():>8.1f} {t.hello.pct(0.5):>7.1f} {t.hello.pct(0.95):>7.1f}"
        )
        print(
            f"{'ballots end to end':<34} {t.ballots:>7} {ballot_rate:>7.1f} "
            f"{t.otp.mean() + t.read.mean() + t.ballot.mean():>8.1f}"
        )
        for label, times in (
            ("  POST …/otp (202)", t.otp),
            ("  read the code (outbox, client)", t.read),
            ("  POST …/ballots (201)", t.ballot),
        ):
            print(
                f"{label:<34} {len(times.values):>7} {'':>7} {times.mean():>8.1f} "
                f"{times.pct(0.5):>7.1f} {times.pct(0.95):>7.1f}"
            )
        if t.lock_samples:
            active = sum(a for a, _w in t.lock_samples) / len(t.lock_samples)
            waiting = sum(w for _a, w in t.lock_samples) / len(t.lock_samples)
            print(
                f"database while voting: {active:.2f} backends active, {waiting:.2f} waiting "
                f"on a lock (mean of {len(t.lock_samples)} samples); client CPU "
                f"{t.client_cpu / (t.ballot_seconds + t.hello_seconds):.0%} of a core"
            )
        print(f"ratio ballots/s ÷ hello req/s: {ballot_rate / hello_rate:.3f} (aim ≥ 0.3)")
    b = result.burst
    if b:
        print(
            f"\nBurst: {result.burst_voters} voters, Poisson at {args.rate:g}/s, think "
            f"{args.think[0]:g}–{args.think[1]:g} s, {args.burst_threads} client threads; "
            f"{result.burst_seconds:.0f} s from the first arrival to the last answer"
        )
        print(f"{'':<26} {'count':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for label, times in (
            ("POST …/otp", b.otp),
            ("POST …/ballots", b.ballot),
            ("otp from arrival", b.otp_due),
            ("ballots from due time", b.ballot_due),
            ("read the code (client)", b.read),
            ("client lateness", b.late),
        ):
            print(
                f"{label:<26} {len(times.values):>7} {times.pct(0.5):>7.1f} "
                f"{times.pct(0.95):>7.1f} {times.pct(0.99):>7.1f} "
                f"{max(times.values, default=0) * 1000:>7.0f}"
            )
        tail = result.burst_seconds - result.burst_span
        print(
            f"arrivals over {result.burst_span:.0f} s; the last answer {tail:.0f} s after the "
            f"last arrival (think time at most {args.think[1]:g} s)"
        )
        if b.late.pct(0.99) > 1000:
            print(
                f"SATURATED: about {b.ballots / result.burst_seconds:.1f} voters/s served "
                f"against {args.rate:g}/s arriving; the client threads were all waiting on the "
                "server, so requests started late (lateness) and the times from arrival are "
                "the ones a voter sees"
            )
        print(
            f"ballots {b.ballots} of {result.burst_voters} voters; errors "
            f"{sum(b.errors.values())}; client CPU {b.client_cpu / result.burst_seconds:.0%} "
            "of a core"
        )
    if result.split:
        s = result.split
        held = s["row lock held"].mean()
        print(f"\nIn-process, one voter at a time ({len(s['ballot_cast'].values)} voters), ms:")
        for key in ("otp_request", "read code", "otp_verify", "ballot_cast", "row lock held"):
            print(f"  {key:<14} mean {s[key].mean():6.2f}  p95 {s[key].pct(0.95):6.2f}")
        print(
            f"  ballot_cast runs {s['statements'].mean():.1f} SQL statements, "
            f"{s['locked statements'].mean():.1f} of them (and the commit) under the campaign's "
            f"row lock: serial ceiling ≈ {1000 / held:.0f} ballots/s per campaign"
        )
        print("  through Django's test client (no HTTP):")
        for key in ("GET hello", "POST otp", "POST ballots"):
            print(f"  {key:<14} mean {s[key].mean():6.2f}  p95 {s[key].pct(0.95):6.2f}")
    for line in result.profile:
        print(line)
    print("\nTable sizes at the end: " + ", ".join(f"{k} {v:,}" for k, v in result.sizes.items()))
    checks = "ok" if not result.problems else "FAILED"
    for problem in result.problems:
        print(f"CHECK FAILED: {problem}")
    if not result.problems:
        print(
            "checks: ballots == voters, no voter key twice, no rejections, receipts and seqs "
            "distinct, chain_verify ok (entries == ballots), for each campaign"
        )
    if hello_rate:
        summary = (
            f"vote: {ballot_rate:.1f} ballots/s; hello {hello_rate:.0f} req/s; ratio "
            f"{ballot_rate / hello_rate:.2f}"
        )
    else:
        summary = "vote: throughput not measured (--rounds 0)"
    if b:
        summary += (
            f"; burst {result.burst_voters} voters at {args.rate:g}/s: ballot p99 "
            f"{b.ballot.pct(0.99):.0f} ms, otp p99 {b.otp.pct(0.99):.0f} ms (from arrival "
            f"{b.ballot_due.pct(0.99):.0f} / {b.otp_due.pct(0.99):.0f} ms)"
        )
    print(f"{summary}; checks {checks}", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenth", action="store_true", help="burst of 4,500 voters (~1 min)")
    parser.add_argument("--voters", type=int, default=FULL_VOTERS, help="burst voters [45000]")
    parser.add_argument("--rate", type=float, default=75, help="burst arrivals per s [75]")
    parser.add_argument(
        "--think", default="3,15", help="seconds between code and ballot, low,high [3,15]"
    )
    parser.add_argument("--burst-threads", type=int, default=96, help="burst client threads")
    parser.add_argument("--clients", type=int, default=8, help="throughput client threads [8]")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers [4]")
    parser.add_argument("--seconds", type=float, default=20, help="per measurement [20]")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds (0: skip) [2]")
    parser.add_argument("--throughput-voters", type=int, default=30_000, help="pool [30000]")
    parser.add_argument("--per-address", type=int, default=5, help="voters per address [5]")
    parser.add_argument("--inprocess", type=int, default=400, help="in-process voters [400]")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process voters")
    parser.add_argument("--timeout", type=int, default=0, help="abort after seconds")
    parser.add_argument("--seed", type=int, default=20261203, help="data generator seed")
    args = parser.parse_args(argv)
    if args.tenth:
        args.voters = FULL_VOTERS // 10
    try:
        low, high = (float(x) for x in args.think.split(","))
    except ValueError:
        parser.error("--think is low,high in seconds, e.g. 3,15")
    args.think = (low, high)
    if min(args.clients, args.workers, args.burst_threads, args.per_address, args.rate) <= 0:
        parser.error("--clients, --workers, --burst-threads, --per-address, --rate must be > 0")
    if args.per_address > 20:
        parser.error("--per-address above 20 hits the hourly per-address code limit")
    if not args.timeout:
        args.timeout = int(600 + args.voters / args.rate + args.think[1] + 4 * args.seconds
                           * args.rounds)  # fmt: skip
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench_vote", args.timeout) as session:
        session.create_database()
        sock = common.listening_socket(backlog=1024)
        session.on_exit("close the web socket", sock.close)
        server = common.Server(
            app="minyi.wsgi:application",
            sock=sock,
            workers=args.workers,
            log_path=session.workdir / "gunicorn.log",
        )
        session.on_exit("stop gunicorn", server.stop)
        session.show_on_failure("gunicorn", server.log_path)
        common.configure_environment(
            session.db_name,
            {
                "DJANGO_SETTINGS_MODULE": SETTINGS,
                "MINYI_SMS_BACKEND": "console",
                "MINYI_TRUSTED_PROXY_COUNT": "1",
            },
        )
        result = run(args, session.db_name, server)
    if result is not None:
        print_report(result, args)
        if result.problems and session.status == 0:
            return 1
    return session.status


if __name__ == "__main__":
    sys.exit(main())

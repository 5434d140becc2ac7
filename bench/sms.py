"""SMS benchmark: surveys out through a real Kannel and replies back in, against Kannel alone.

Run from the repository root: `.venv/bin/python bench/sms.py` (or `make bench-sms`).

1. Creates a throwaway PostgreSQL database `minyi_bench_sms_<pid>` on 127.0.0.1:5432 (user
   postgres), migrates it and builds the demo city. Starts a real Kannel (bearerbox, smsbox,
   fakesmsc; `KannelHarness`) on loopback, its get-url pointing at one loopback socket that
   the script binds and hands to gunicorn (2 sync workers): Minyi first, then a bare receiver.
2. Outbound: N events (one distinct mobile each) through `events_ingest`, surveys scheduled
   and made due at once; timed from "due" until one `manage.py worker` process (the real
   command, MINYI_SMS_BACKEND=kannel) has every OutboundSms accepted by Kannel and fakesmsc
   has seen N messages. Kannel's delivery reports go to Minyi under gunicorn meanwhile.
   Baseline: the same N sendsms requests (same parameters, dlr-url and concurrency as
   `KannelBackend`) from a thread pool straight to Kannel, until fakesmsc has seen them.
3. Inbound: M replies to M open surveys injected on Kannel's fake SMSC link (the line protocol
   fakesmsc speaks, one connection), timed until M replies are stored (the get-url callback
   stores and answers; no worker runs meanwhile); then the worker's inbound_process job, run
   in-process batch after batch, timed until all M are parsed and attached (M surveys
   answered); then M more sent to the get-url endpoint directly over HTTP. Baseline: the same
   replies to a bare WSGI app under the same gunicorn settings that only answers 200.
4. Prints a small table and, last, one summary line:
   `sms: outbound <a> surveys/s; kannel sendsms <b> msgs/s; ratio <r>; inbound <c> replies/s;
   bare receiver <d> replies/s; ratio <e>; attached <f> replies/s; ratio to stored <g>`.

The whole run is bounded (--timeout); the worker, gunicorn and Kannel are stopped and the
database dropped at the end, on error and on Ctrl-C too. `--profile` adds an in-process
cProfile of one worker pass and of inbound replies through the view.
"""

import argparse
import contextlib
import cProfile
import functools
import os
import pstats
import random
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlencode

import httpx

if __package__:  # imported as bench.sms by gunicorn, for bare_app
    from bench import common
else:  # run as a script: bench/ is sys.path[0]
    import common

INBOUND_PATH = "/sms/kannel/inbound"
STALL_SECONDS = 45  # no progress for this long: fail with the logs instead of waiting on
BARE_LOG_ENV = "MINYI_BENCH_BARE_LOG"
PROFILE_OUT, PROFILE_IN = 1000, 300  # surveys set aside for --profile


# --- The bare receiver (imported by gunicorn as bench.sms:bare_app) --------------------------

_bare_fd: int | None = None


def bare_app(environ, start_response):
    """The baseline for Minyi's callback endpoints: read the request, note it (one 2-byte
    record, so the script can count), answer 200 with an empty body, as Kannel expects."""
    global _bare_fd
    path = environ.get("PATH_INFO", "")
    if path != "/healthz":
        if _bare_fd is None:
            _bare_fd = os.open(os.environ[BARE_LOG_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(_bare_fd, b"D\n" if path.endswith("/dlr") else b"I\n")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


# --- Database and Django ---------------------------------------------------------------------


def configure_environment(db_name: str, web_url: str, kannel, token: str) -> None:
    common.configure_environment(
        db_name,
        {
            "MINYI_SMS_BACKEND": "kannel",
            "MINYI_KANNEL_SENDSMS_URL": kannel.sendsms_url,
            "MINYI_KANNEL_USERNAME": kannel.sendsms_username,
            "MINYI_KANNEL_PASSWORD": kannel.sendsms_password,
            "MINYI_SMS_CALLBACK_TOKEN": token,
            "MINYI_PUBLIC_BASE_URL": web_url,
            # No quiet hours: the time of day must not matter.
            "MINYI_SURVEY_QUIET_START_HOUR": "24",
            "MINYI_SURVEY_QUIET_END_HOUR": "0",
        },
    )


# --- Workload --------------------------------------------------------------------------------

# Business types (none sensitive, all surveyed) by kind of unit, with weights.
_TYPES = {
    "police_station": (
        ("emergency_call_110", 30, "110jcj"),
        ("help_request", 8, "110jcj"),
        ("dispute_mediation", 8, "110jcj"),
        ("hukou_registration", 12, "hzxt"),
        ("id_card", 12, "hzxt"),
    ),
    "traffic_brigade": (
        ("traffic_accident", 10, "jjpt"),
        ("traffic_violation", 15, "jjpt"),
        ("driving_licence", 6, "jjpt"),
    ),
}

# What citizens answer (all of it a rating, so that every reply answers its survey), with
# weights: mostly a digit, sometimes a word or a digit and a comment.
REPLIES = (
    ("1", 30),
    ("1 非常满意", 8),
    ("2", 20),
    ("满意", 10),
    ("2 民警很耐心，谢谢", 5),
    ("3", 10),
    ("基本满意", 4),
    ("4 等了很久才有人来", 6),
    ("4", 3),
    ("5 态度不好，办事拖拉", 4),
)


@dataclass
class Surveys:
    outbound: list[int]  # survey ids made due for the outbound measurement
    via_kannel: list[int]  # open surveys answered through Kannel
    direct: list[int]  # open surveys answered by direct HTTP
    profile_out: list[int] = field(default_factory=list)  # SCHEDULED, for --profile
    profile_in: list[int] = field(default_factory=list)  # SENT, for --profile
    mobile: dict[int, str] = field(default_factory=dict)  # survey id -> mobile


def generate_items(n: int, rng: random.Random) -> list[dict]:
    """N events as events_ingest takes them (validated items), each with its own mobile."""
    from minyi.orgs.models import Officer

    staff: dict[str, list[tuple[str, str]]] = {}
    for kind, number, unit_code in Officer.objects.filter(
        unit__kind__in=_TYPES, is_active=True
    ).values_list("unit__kind", "police_number", "unit__code"):
        staff.setdefault(kind, []).append((number, unit_code))
    choices = [(k, t) for k, types in _TYPES.items() if staff.get(k) for t in types]
    if not choices:
        raise common.BenchError("the demo city has no stations or brigades with officers")
    weights = [t[1] * len(staff[k]) for k, t in choices]
    mobiles = [
        rng.choice(common.MOBILE_PREFIXES) + f"{m:08d}" for m in rng.sample(range(10**8), n)
    ]  # distinct numbers: one open survey per mobile
    if len(set(mobiles)) != n:
        mobiles = [f"139{i:08d}" for i in range(n)]
    now = datetime.now(common.SHANGHAI).replace(microsecond=0)
    items = []
    for i, (kind, (code, _weight, source)) in enumerate(rng.choices(choices, weights, k=n)):
        number, unit_code = rng.choice(staff[kind])
        items.append(
            {
                "source": source,
                "external_id": f"{source.upper()}-SMS-{i:08d}",
                "business_type": code,
                "unit": unit_code,
                "officers": [number],
                "citizen_mobile": mobiles[i],
                "occurred_at": now - timedelta(seconds=rng.randrange(600, 20 * 3600)),
            }
        )
    return items


def build_surveys(args, rng: random.Random) -> Surveys:
    """Ingest, schedule, and arrange the surveys: the outbound ones wait (send_at far ahead)
    until the clock starts; the extra ones the inbound part needs are marked sent."""
    from django.utils import timezone as dj_timezone

    from minyi.perception.models import Survey, SurveyStatus
    from minyi.perception.services.ingest import MAX_BATCH, events_ingest
    from minyi.perception.services.surveys import surveys_schedule_pending

    extra = max(0, 2 * args.replies - args.surveys)
    reserve = (PROFILE_OUT + PROFILE_IN) if args.profile else 0
    total = args.surveys + extra + reserve
    started = time.perf_counter()
    items = generate_items(total, rng)
    mobile_of = {item["external_id"]: item["citizen_mobile"] for item in items}
    for start in range(0, total, MAX_BATCH):
        results = events_ingest(items=items[start : start + MAX_BATCH], scope_unit=None)
        bad = [r for r in results if r.status != "accepted"]
        if bad:
            raise common.BenchError(f"{len(bad)} events not accepted, e.g. {bad[:3]}")
    while surveys_schedule_pending():
        pass
    rows = list(Survey.objects.order_by("id").values_list("id", "event__external_id"))
    if len(rows) != total:
        raise common.BenchError(f"{len(rows)} surveys scheduled for {total} events")
    now = dj_timezone.now()
    Survey.objects.update(send_at=now + timedelta(days=30))  # nothing due yet
    ids = [pk for pk, _external in rows]
    n = args.surveys
    open_ids = ids[: n + extra]
    reserve_out = ids[n + extra : n + extra + (PROFILE_OUT if args.profile else 0)]
    reserve_in = ids[n + extra + len(reserve_out) :]
    Survey.objects.filter(pk__in=ids[n : n + extra] + reserve_in).update(
        status=SurveyStatus.SENT, sent_at=now, expires_at=now + timedelta(hours=72)
    )
    common.log(
        f"{total} events ingested and {total} surveys scheduled in-process "
        f"({time.perf_counter() - started:.1f} s)"
    )
    m = args.replies
    return Surveys(
        outbound=ids[:n],
        via_kannel=open_ids[:m],
        direct=open_ids[m : 2 * m],
        profile_out=reserve_out,
        profile_in=reserve_in,
        mobile={pk: mobile_of[external] for pk, external in rows},
    )


def check_replies() -> None:
    from minyi.perception.replies import ReplyKind, parse_reply

    for text, _weight in REPLIES:
        parsed = parse_reply(text)
        if parsed.kind != ReplyKind.RATING or not parsed.rating:
            raise common.BenchError(f"reply {text!r} does not parse as a rating: {parsed}")


# --- Processes -------------------------------------------------------------------------------


class Worker:
    """`manage.py worker`, the sender as deployed (its schedule dispatches the due surveys and
    sends the outbox, MINYI_SMS_SEND_BATCH messages a claim), with its output in a file whose
    lines are time-stamped here when first seen."""

    BANNER = "worker: scheduling"

    def __init__(self, *, log_path: Path, interval: float, batch: int):
        self.log_path = log_path
        self.interval = interval
        self.batch = batch
        self.proc: subprocess.Popen | None = None
        self.lines: list[tuple[float, str]] = []

    def start(self) -> None:
        command = [
            sys.executable, "manage.py", "worker", "--interval", str(self.interval),
        ]  # fmt: skip
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command,
                cwd=common.ROOT,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    "MINYI_SMS_SEND_BATCH": str(self.batch),
                },
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(self.BANNER in line for _t, line in self.poll()):
            if self.proc is None or self.proc.poll() is not None:
                raise common.BenchError(f"worker exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise common.BenchError(f"worker did not start in {timeout} s:\n{self.tail()}")
            time.sleep(0.1)

    def poll(self) -> list[tuple[float, str]]:
        now = time.perf_counter()
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            self.lines += [(now, line) for line in lines[len(self.lines) :]]
        return self.lines

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        return common.tail(self.log_path, lines)

    def stop(self, grace: float = 15) -> None:
        if self.proc is not None:
            # It finishes its pass, then exits.
            common.stop_process(self.proc, grace=grace, group=True)
        self.proc = None


def start_kannel(web_url: str, token: str):
    """Kannel as docs/integration.md configures it: the documented get-url, mo-recode,
    http-request-retry and http-queue-delay 10."""
    from minyi.integrations.sms.tests.kannel_harness import KannelHarness

    get_url = f"{web_url}{INBOUND_PATH}?token={token}&id=%I&from=%p&to=%P&text=%b"
    kannel = KannelHarness(
        mo_url_template=get_url,
        sendsms_password=secrets.token_urlsafe(16),
        http_request_retry=10,
        http_queue_delay=10,
        stop_timeout=10,
    )
    kannel.start()
    common.log(
        f"Kannel: sendsms {kannel.sendsms_url}, fake SMSC MO link port {kannel.fake_mo_port}"
    )
    return kannel


def _concat(udh: bytes) -> tuple[int, int] | None:
    """(total, seq) from a UDH's concatenation element, if it has one."""
    i = 1
    while i + 1 < len(udh):
        iei, length = udh[i], udh[i + 1]
        value = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return value[1], value[2]
        if iei == 0x08 and length == 4:
            return value[2], value[3]
        i += 2 + length
    return None


class MtCounter:
    """Messages fakesmsc received since `mark()`, counted incrementally (one per single SMS
    and one per last part of a concatenated one; Kannel sends the parts in order)."""

    def __init__(self, kannel):
        self.kannel = kannel
        self.start = self.seen = self.count = 0

    def mark(self) -> None:
        self.start = self.seen = len(self.kannel.mt_lines())
        self.count = 0

    def update(self) -> int:
        lines = self.kannel.mt_lines()
        for line in lines[self.seen :]:
            fields = line.split(" ", 4)
            if len(fields) >= 4 and fields[2] == "udh":
                info = _concat(unquote_to_bytes(fields[3].replace("+", "%20")))
                if info is not None and info[0] != info[1]:
                    continue
            self.count += 1
        self.seen = len(lines)
        return self.count

    def messages(self):
        from minyi.integrations.sms.tests.kannel_harness import join_parts

        return join_parts(self.kannel.mt_lines()[self.start :])


def smsc_status(kannel, admin_id: str) -> tuple[str, int]:
    """(status, messages received) of one fake SMSC link, from bearerbox's status.xml."""
    for smsc in kannel.status_xml().iter("smsc"):
        if smsc.findtext("admin-id") == admin_id:
            return smsc.findtext("status") or "", int(smsc.findtext("sms/received") or 0)
    return "", 0


class MoInjector:
    """The SMSC side of Kannel's fake MO link: one TCP connection carrying one fakesmsc line
    per message. (The harness's send_mo starts one fakesmsc process per message and waits
    for bearerbox to count each; that caps injection far below what is measured here.)"""

    def __init__(self, kannel):
        self.kannel = kannel
        self.sock: socket.socket | None = None
        self.received_before = 0

    def send(self, lines: list[str]) -> None:
        self.received_before = smsc_status(self.kannel, "fake-mo")[1]
        self.sock = socket.create_connection((common.HOST, self.kannel.fake_mo_port), timeout=30)
        self.sock.sendall("".join(line + "\n" for line in lines).encode("ascii"))

    def received(self) -> int:
        return smsc_status(self.kannel, "fake-mo")[1] - self.received_before

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            deadline = time.monotonic() + 5  # the link takes one client at a time
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    if not smsc_status(self.kannel, "fake-mo")[0].startswith("online"):
                        break
                time.sleep(0.02)


def bare_counts(path: Path) -> tuple[int, int]:
    """(inbound, delivery-report) requests the bare receiver answered."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0, 0
    return data.count(b"I"), data.count(b"D")


def wait_until(what: str, progress, target: int, diagnostics=None, poll: float = 0.05) -> float:
    """Poll `progress()` until it reaches `target`; returns perf_counter() then. Fails if it
    stops moving for STALL_SECONDS (the global --timeout bounds the rest)."""
    last, moved = -1, time.monotonic()
    while True:
        value = progress()
        if value >= target:
            return time.perf_counter()
        if value != last:
            last, moved = value, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            detail = diagnostics() if diagnostics else ""
            raise common.BenchError(
                f"{what}: stuck at {value} of {target} for {STALL_SECONDS} s\n{detail}"
            )
        time.sleep(poll)


# --- Outbound --------------------------------------------------------------------------------


@dataclass
class Outbound:
    messages: int
    senders: int
    app_sent: float  # due -> every OutboundSms accepted by Kannel (sent/delivered)
    app_mt: float  # due -> fakesmsc saw N messages
    app_dlr: float  # due -> every delivery report recorded
    dlr_count: int
    dlr_at_sent: int  # delivery reports recorded when the sender had finished
    passes: int  # send runs that sent something
    kannel_http: float  # baseline: all sendsms requests answered
    kannel_mt: float  # baseline: fakesmsc saw N messages
    kannel_dlr: float  # baseline: every delivery report at the bare receiver
    breakdown: list[tuple[str, float]] = field(default_factory=list)  # where the sender's time went

    @property
    def app_seconds(self) -> float:
        return max(self.app_sent, self.app_mt)

    @property
    def kannel_seconds(self) -> float:
        return max(self.kannel_http, self.kannel_mt)


def expected_dlrs(messages: int) -> int:
    """The fake SMSC reports type 8 (accepted) and 1 (delivered), each if the mask asks."""
    from django.conf import settings

    return messages * bin(settings.KANNEL_DLR_MASK & 9).count("1")


def measure_outbound_app(args, surveys: Surveys, kannel, counter, server, workers):
    from django.utils import timezone as dj_timezone

    from minyi.integrations.sms.models import DeliveryReport, OutboundSms, OutboundStatus
    from minyi.perception.models import Survey

    n = len(surveys.outbound)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_ready()
    time.sleep(max(0.5, args.interval))  # past the first (empty) pass
    counter.mark()
    common.checkpoint()
    common.log(f"outbound: {n} surveys due now, {len(workers)} worker process(es)")

    started = time.perf_counter()
    Survey.objects.filter(pk__in=surveys.outbound).update(send_at=dj_timezone.now())
    done = (OutboundStatus.SENT, OutboundStatus.DELIVERED)
    t_sent = t_mt = None
    dlr_at_sent = 0
    last, moved = (-1, -1), time.monotonic()
    while t_sent is None or t_mt is None:
        sent = OutboundSms.objects.filter(status__in=done).count()
        seen = counter.update()
        for worker in workers:
            worker.poll()
        now = time.perf_counter()
        if t_sent is None and sent >= n:
            t_sent = now - started
            dlr_at_sent = DeliveryReport.objects.count()
        if t_mt is None and seen >= n:
            t_mt = now - started
        if (sent, seen) != last:
            last, moved = (sent, seen), time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            statuses = Counter(OutboundSms.objects.values_list("status", flat=True))
            raise common.BenchError(
                f"outbound stuck: {sent} of {n} sent, fakesmsc saw {seen}, outbox {statuses}\n"
                f"{workers[0].tail()}\n{server.tail()}"
            )
        if not all(w.alive() for w in workers):
            raise common.BenchError(f"worker exited:\n{workers[0].tail()}")
        time.sleep(0.05)
    common.log(f"outbound: all sent in {t_sent:.2f} s, fakesmsc had them at {t_mt:.2f} s")

    want = expected_dlrs(n)

    def diagnostics():
        return f"{server.tail()}\n{kannel.diagnostics(10)}"

    t_dlr = (
        wait_until("delivery reports", DeliveryReport.objects.count, want, diagnostics, 0.1)
        - started
    )
    for worker in workers:
        worker.poll()
        worker.stop()
    passes = sum(
        1 for w in workers for _t, line in w.lines if "sent=" in line and "sent=0" not in line
    )
    check_outbound(surveys, counter)
    return t_sent, t_mt, t_dlr, want, dlr_at_sent, passes, sender_breakdown(workers, started)


def sender_breakdown(workers, started: float) -> list[tuple[str, float]]:
    """Where the worker's time went, from its output: each dispatch pass and send run is a
    line (time-stamped here when seen, every 50 ms), a send run with the timing it measured
    (outbox_send_stream's SendTiming). Dispatch = from the previous line to a dispatch line."""
    import ast

    from django.conf import settings

    dispatch = first = 0.0
    passes = 0
    runs: list[dict] = []
    for worker in workers:
        previous = started
        for at, line in worker.lines:
            if at < started:
                continue
            if "dispatched=" in line:
                dispatch += at - previous
                first = first or at - started
                passes += 1
            if line.startswith("sent=") and "timing=" in line:
                runs.append(ast.literal_eval(line.split("timing=", 1)[1]))
            previous = at

    def total(key: str) -> float:
        return sum(r.get(key, 0.0) for r in runs)

    concurrency = settings.KANNEL_CONCURRENCY
    return [
        ("due -> first dispatch pass seen", first),
        (f"dispatch passes ({passes}), from the previous line", dispatch),
        (f"send runs ({len(runs)}), wall", total("elapsed")),
        (f"  claiming ({total('claims'):.0f} claim statements)", total("claim")),
        ("  decrypting the claimed mobiles", total("decrypt")),
        ("  waiting for Kannel's answers", total("wait")),
        ("  recording outcomes (one UPDATE per kind)", total("record")),
        (f"  sendsms requests, summed over threads / {concurrency}", total("http") / concurrency),
    ]


def check_outbound(surveys: Surveys, counter) -> None:
    """Each survey's mobile got exactly its message at the fake SMSC."""
    from minyi.integrations.sms.models import OutboundSms

    sent = Counter(OutboundSms.objects.values_list("to_mobile", "body"))
    seen = Counter((m.receiver, m.text) for m in counter.messages())
    if sent != seen:
        raise common.BenchError(
            f"fakesmsc saw {sum(seen.values())} messages, {len(seen - sent)} unexpected, "
            f"{len(sent - seen)} missing"
        )
    if sorted(m for m, _b in sent) != sorted(surveys.mobile[s] for s in surveys.outbound):
        raise common.BenchError("the messages did not go to the surveyed mobiles")


def sendsms_requests() -> list[dict]:
    """What KannelBackend.send puts on the wire for each stored message, built beforehand."""
    from django.conf import settings

    from minyi.integrations.sms.backends.kannel import dlr_url
    from minyi.integrations.sms.models import OutboundSms

    return [
        {
            "username": settings.KANNEL_USERNAME,
            "password": settings.KANNEL_PASSWORD,
            "from": settings.KANNEL_SENDER,
            "to": to_mobile,
            "text": body,
            "coding": 2,
            "charset": "UTF-8",
            "dlr-mask": settings.KANNEL_DLR_MASK,
            "dlr-url": dlr_url(pk),
        }
        for pk, to_mobile, body in OutboundSms.objects.order_by("id").values_list(
            "id", "to_mobile", "body"
        )
    ]


def measure_sendsms_baseline(requests: list[dict], kannel, counter, bare_log: Path):
    """The same requests with the same client settings as KannelBackend and
    outbox_send_batch (one httpx client, `concurrency` connections and threads)."""
    from django.conf import settings

    concurrency = settings.KANNEL_CONCURRENCY
    client = httpx.Client(
        timeout=settings.KANNEL_TIMEOUT,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )

    def send(params):
        response = client.get(settings.KANNEL_SENDSMS_URL, params=params)
        return response.status_code, response.text.strip()[:80]

    n = len(requests)
    counter.mark()
    _inbound, dlr_before = bare_counts(bare_log)
    common.checkpoint()
    with client, ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = time.perf_counter()
        answers = list(pool.map(send, requests))
        t_http = time.perf_counter() - started
    bad = [a for a in answers if a[0] not in (200, 202) or a[1][:2] not in ("0:", "3:")]
    if bad:
        raise common.BenchError(f"sendsms: {len(bad)} of {n} not accepted, e.g. {bad[:3]}")
    t_mt = wait_until("baseline at fakesmsc", counter.update, n) - started
    want = expected_dlrs(n)
    t_dlr = (
        wait_until("baseline delivery reports", lambda: bare_counts(bare_log)[1] - dlr_before, want)
        - started
    )
    seen = Counter((m.receiver, m.text) for m in counter.messages())
    if seen != Counter((r["to"], r["text"]) for r in requests):
        raise common.BenchError("baseline: fakesmsc did not see exactly the requested messages")
    return t_http, t_mt, t_dlr


# --- Inbound ---------------------------------------------------------------------------------


@dataclass
class InboundPath:
    label: str
    replies: int
    seconds: float
    kannel_received: float | None = None  # bearerbox counted all M (Kannel paths)

    @property
    def rate(self) -> float:
        return self.replies / self.seconds


def reply_texts(count: int, rng: random.Random) -> list[str]:
    texts, weights = zip(*REPLIES, strict=True)
    return rng.choices(texts, weights, k=count)


def mo_lines(kannel, mobiles: list[str], texts: list[str]) -> list[str]:
    from django.conf import settings

    return [
        kannel.mo_line(mobile, settings.KANNEL_SENDER, text, coding=2)
        for mobile, text in zip(mobiles, texts, strict=True)
    ]


def direct_urls(base_url: str, mobiles: list[str], texts: list[str]) -> list[str]:
    """The get-url as smsbox fetches it (token, %I, %p, %P, %b), one new id per message."""
    from django.conf import settings

    return [
        f"{base_url}{INBOUND_PATH}?"
        + urlencode(
            {
                "token": settings.SMS_CALLBACK_TOKEN,
                "id": str(uuid.uuid4()),
                "from": mobile,
                "to": settings.KANNEL_SENDER,
                "text": text,
            }
        )
        for mobile, text in zip(mobiles, texts, strict=True)
    ]


def stored_count() -> int:
    """Replies stored by the get-url callback (the database is the bench's own)."""
    from minyi.integrations.sms.models import InboundSms

    return InboundSms.objects.filter(status="received").count()


def measure_attach(m: int) -> InboundPath:
    """The worker's inbound_process job, in-process, batch after batch until no stored reply
    is left: parsed, attached to its survey, counted (MINYI_INBOUND_BATCH a batch)."""
    from django.conf import settings

    from minyi.perception.tasks import inbound_process_task

    common.checkpoint()
    started = time.perf_counter()
    done = 0
    while found := inbound_process_task.call()["inbound"]:
        done += found
    seconds = time.perf_counter() - started
    if done != m:
        raise common.BenchError(f"the worker read {done} replies, expected {m}")
    return InboundPath(f"{ATTACH} (batch {settings.INBOUND_BATCH})", m, seconds)


def answered_count() -> int:
    from minyi.perception.models import Survey, SurveyStatus

    return Survey.objects.filter(status=SurveyStatus.ANSWERED).count()


def measure_via_kannel(label: str, kannel, lines: list[str], progress, diagnostics) -> InboundPath:
    """Inject the lines on the fake SMSC link; done when `progress()` reaches len(lines)."""
    injector = MoInjector(kannel)
    m = len(lines)
    common.checkpoint()
    started = time.perf_counter()
    received_at = None
    try:
        injector.send(lines)

        def both():
            nonlocal received_at
            if received_at is None and injector.received() >= m:
                received_at = time.perf_counter() - started
            return progress()

        finished = wait_until(label, both, m, diagnostics)
        if received_at is None:
            wait_until(f"{label}: bearerbox count", injector.received, m)
            received_at = finished - started
    finally:
        injector.close()
    return InboundPath(label, m, finished - started, received_at)


def measure_direct(label: str, urls: list[str], clients: int) -> InboundPath:
    """`clients` threads, each with its own httpx client, GET the URLs from a shared queue."""

    @contextlib.contextmanager
    def worker():
        with httpx.Client(timeout=60) as client:

            def handle(url):
                response = client.get(url)
                if response.status_code != 200:
                    raise common.BenchError(
                        f"{label}: a request failed, HTTP {response.status_code}: "
                        f"{response.text[:200]}"
                    )

            yield handle

    common.checkpoint()
    return InboundPath(label, len(urls), common.run_concurrently(urls, clients, worker))


def check_inbound(expected_answered: int) -> None:
    from minyi.integrations.sms.models import InboundSms, InboundStatus

    answered = answered_count()
    review = InboundSms.objects.filter(status=InboundStatus.NEEDS_REVIEW).count()
    if answered != expected_answered or review:
        raise common.BenchError(
            f"{answered} surveys answered (expected {expected_answered}); {review} "
            "replies need review"
        )


def measure_send_mo(kannel, bare_log: Path, mobiles: list[str], sender: str) -> float:
    """The harness's own injection, one fakesmsc process per message, for comparison."""
    before = bare_counts(bare_log)[0]
    started = time.perf_counter()
    for mobile in mobiles:
        kannel.send_mo(mobile, sender, "1")
    finished = wait_until("send_mo", lambda: bare_counts(bare_log)[0] - before, len(mobiles))
    return len(mobiles) / (finished - started)


# --- Profile ---------------------------------------------------------------------------------

_OUT_BREAKDOWN = (
    ("surveys_dispatch_due", "minyi/perception/services/surveys.py", "surveys_dispatch_due"),
    ("  select due surveys (+ event, unit, type)", "django/db/models/query.py", "__iter__"),
    ("  survey_text", "minyi/perception/services/surveys.py", "survey_text"),
    ("  OutboundSms bulk_create", "django/db/models/query.py", "bulk_create"),
    ("    Fernet encrypt (mobile, body)", "minyi/core/pii.py", "encrypt"),
    ("  Survey bulk_update (CASE WHEN per row)", "django/db/models/query.py", "bulk_update"),
    ("  rollup_add", "minyi/perception/services/daily.py", "rollup_add"),
    ("outbox_send_stream", "minyi/integrations/sms/services.py", "outbox_send_stream"),
    ("  _claim (one UPDATE … RETURNING a claim)", "minyi/integrations/sms/services.py", "_claim"),
    ("Fernet decrypt (events' and claimed mobiles)", "minyi/core/pii.py", "decrypt"),
    ("  waiting for the sendsms threads", "concurrent/futures/_base.py", "wait"),
    (
        "  _record_outcomes (one UPDATE per kind)",
        "minyi/integrations/sms/services.py",
        "_record_outcomes",
    ),
    ("SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
)
_IN_BREAKDOWN = (
    ("kannel_inbound (view)", "minyi/integrations/sms/views.py", "kannel_inbound"),
    ("  inbound_receive", "minyi/integrations/sms/services.py", "inbound_receive"),
    ("  inbound_process_batch", "minyi/perception/services/replies.py", "inbound_process_batch"),
    ("    parse_reply", "minyi/perception/replies.py", "parse_reply"),
    ("    survey_answer", "minyi/perception/services/replies.py", "survey_answer"),
    ("      rollup_add", "minyi/perception/services/daily.py", "rollup_add"),
    ("      callback_open", "minyi/callbacks/services.py", "callback_open"),
    ("Fernet encrypt", "minyi/core/pii.py", "encrypt"),
    ("Fernet decrypt", "minyi/core/pii.py", "decrypt"),
    ("SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
    ("transaction commit", "django/db/backends/base/base.py", "commit"),
)
_DLR_BREAKDOWN = (
    ("kannel_dlr (view)", "minyi/integrations/sms/views.py", "kannel_dlr"),
    ("  dlr_record", "minyi/integrations/sms/services.py", "dlr_record"),
    ("Fernet decrypt (the whole message is loaded)", "minyi/core/pii.py", "decrypt"),
    ("SQL round trips (psycopg execute)", "psycopg/cursor.py", "execute"),
    ("transaction commit", "django/db/backends/base/base.py", "commit"),
)


def _print_profile(title: str, profiler, breakdown, extra: list[str]) -> None:
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\n{title} (cumulative seconds):")
    for line in extra:
        print(f"  {line}")
    print(f"  {'whole profiled run':<44} {stats.total_tt:8.3f}")
    common.print_breakdown(stats, breakdown)
    print("Top functions by own time:", flush=True)
    stats.sort_stats("tottime").print_stats(12)


@contextlib.contextmanager
def collect_sql():
    """The SQL statements run on this thread's connection meanwhile, with their time
    (execute_wrapper: not subject to the request_started reset of connection.queries)."""
    from django.db import connection

    statements: list[tuple[str, float]] = []  # (SQL, seconds)

    def wrapper(execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            statements.append((sql_text, time.perf_counter() - started))

    with connection.execute_wrapper(wrapper):
        yield statements


def _profile_requests(what: str, urls: list[str], breakdown) -> None:
    """GET the URLs in-process with Django's test client: 20 to warm up, a third timed
    without the profiler, one with its SQL captured, the rest under cProfile."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")

    def get(url):
        response = client.get(url)
        if response.status_code != 200:
            raise common.BenchError(f"profile: {url[:60]}: HTTP {response.status_code}")

    third = (len(urls) - 21) // 3
    warm, plain, one, profiled = (
        urls[:20],
        urls[20 : 20 + third],
        urls[20 + third],
        urls[21 + third :],
    )
    for url in warm:
        get(url)
    started = time.perf_counter()
    for url in plain:
        get(url)
    unprofiled = (time.perf_counter() - started) / len(plain)
    with collect_sql() as queries:
        get(one)
    profiler = cProfile.Profile()
    profiler.enable()
    for url in profiled:
        get(url)
    profiler.disable()
    extra = [f"{unprofiled * 1000:.1f} ms a request without the profiler; "
             f"{len(queries)} SQL statements each:"]  # fmt: skip
    extra += [f"  {t * 1000:5.2f} ms  {' '.join(q.split())[:86]}" for q, t in queries]
    _print_profile(
        f"Profile of {len(profiled)} {what}, in-process (test client)", profiler, breakdown, extra
    )


def profile(surveys: Surveys, rng: random.Random) -> None:
    """In-process, no gunicorn: one worker pass (dispatch + send through Kannel) over
    PROFILE_OUT surveys, then delivery reports for those messages and PROFILE_IN replies
    through the views. Only the main thread is profiled: the sendsms calls show as the wait
    for the threads."""
    from urllib.parse import urlsplit

    from django.utils import timezone as dj_timezone

    from minyi.integrations.sms.backends.kannel import KannelBackend, dlr_url
    from minyi.integrations.sms.models import OutboundSms
    from minyi.integrations.sms.services import outbox_send_batch
    from minyi.perception.models import Survey
    from minyi.perception.services.surveys import surveys_dispatch_due

    Survey.objects.filter(pk__in=surveys.profile_out).update(send_at=dj_timezone.now())
    backend = KannelBackend()
    profiler = cProfile.Profile()
    with collect_sql() as queries:
        started = time.perf_counter()
        profiler.enable()
        dispatched = surveys_dispatch_due()
        sent = 0
        while claimed := outbox_send_batch(backend=backend, limit=200):
            sent += claimed
        profiler.disable()
        elapsed = time.perf_counter() - started
    _print_profile(
        f"Profile of one worker pass in-process: {dispatched} dispatched, {sent} sent",
        profiler,
        _OUT_BREAKDOWN,
        [f"{len(queries)} SQL statements, {len(queries) / max(sent, 1):.1f} per message; "
         f"{elapsed:.2f} s with the profiler"],
    )  # fmt: skip

    # Their delivery reports went to the bare receiver: give Minyi 8 and 1 for 200 of them.
    ids = OutboundSms.objects.filter(survey_id__in=surveys.profile_out).values_list("id", flat=True)
    urls = []
    for pk in list(ids)[:200]:
        parts = urlsplit(dlr_url(pk))
        urls += [f"{parts.path}?{parts.query}".replace("%d", str(t)) for t in (8, 1)]
    _profile_requests("delivery reports through kannel_dlr", urls, _DLR_BREAKDOWN)

    mobiles = [surveys.mobile[s] for s in surveys.profile_in]
    urls = direct_urls("", mobiles, reply_texts(len(mobiles), rng))
    _profile_requests("replies through kannel_inbound", urls, _IN_BREAKDOWN)


# --- Main ------------------------------------------------------------------------------------


@dataclass
class Result:
    outbound: Outbound
    inbound: list[InboundPath]
    send_mo_rate: float
    interval: float
    batch: int
    workers: int
    concurrency: int
    clients: int
    machine_at_start: str

    def path(self, label: str) -> InboundPath:
        return next(p for p in self.inbound if p.label == label)


APP_KANNEL, BARE_KANNEL = "Minyi via Kannel", "bare receiver via Kannel"
APP_DIRECT, BARE_DIRECT = "Minyi direct HTTP", "bare receiver direct HTTP"
ATTACH = "worker: stored -> attached"


def run(args, kannel, sock: socket.socket, session: common.Session) -> Result:
    from django.conf import settings
    from django.db import connections

    at_start = common.machine_at_start()
    rng = random.Random(args.seed)  # noqa: S311 - synthetic data, deterministic by design
    common.migrate_and_build_city()
    check_replies()
    surveys = build_surveys(args, rng)
    connections.close_all()
    counter = MtCounter(kannel)
    workdir = session.workdir
    bare_log = workdir / "bare.log"

    # Minyi on the socket: outbound, then replies through Kannel and directly.
    app = common.Server(
        app="minyi.wsgi:application", sock=sock, workers=args.workers,
        log_path=workdir / "gunicorn-minyi.log",
    )  # fmt: skip
    session.on_exit("stop gunicorn", app.stop)
    app.start()
    senders = [
        Worker(log_path=workdir / f"worker-{i}.log", interval=args.interval, batch=args.batch)
        for i in range(args.senders)
    ]
    for sender in senders:  # the database is dropped anyway
        session.on_exit("stop worker", functools.partial(sender.stop, grace=3))
    t_sent, t_mt, t_dlr, dlrs, dlr_at_sent, passes, breakdown = measure_outbound_app(
        args, surveys, kannel, counter, app, senders
    )
    requests = sendsms_requests()
    if args.out_only:
        measured = (t_sent, t_mt, t_dlr, dlrs, dlr_at_sent, passes, breakdown)
        return run_out_baseline(args, kannel, sock, session, app, counter, measured, at_start)

    texts_k = reply_texts(args.replies, rng)
    texts_d = reply_texts(args.replies, rng)
    mobiles_k = [surveys.mobile[s] for s in surveys.via_kannel]
    mobiles_d = [surveys.mobile[s] for s in surveys.direct]
    lines = mo_lines(kannel, mobiles_k, texts_k)
    urls = direct_urls(app.base_url, mobiles_d, texts_d)

    def app_diagnostics():
        return f"{app.tail()}\n{kannel.diagnostics(10)}"

    common.log(f"inbound: {args.replies} replies through Kannel to Minyi (stored, no worker)")
    inbound = [measure_via_kannel(APP_KANNEL, kannel, lines, stored_count, app_diagnostics)]
    common.log(f"inbound: the worker's batches read and attach the {args.replies} replies")
    inbound.append(measure_attach(args.replies))
    check_inbound(args.replies)
    common.log(f"inbound: {args.replies} replies by direct HTTP to Minyi ({args.clients} clients)")
    inbound.append(measure_direct(APP_DIRECT, urls, args.clients))
    measure_attach(args.replies)
    check_inbound(2 * args.replies)
    connections.close_all()
    app.stop()

    # The bare receiver on the same socket: the same traffic.
    bare = common.Server(
        app="bench.sms:bare_app", sock=sock, workers=args.workers,
        log_path=workdir / "gunicorn-bare.log", env={BARE_LOG_ENV: str(bare_log)},
    )  # fmt: skip
    session.on_exit("stop gunicorn", bare.stop)
    bare.start()
    common.log(f"baseline: {len(requests)} sendsms requests straight to Kannel")
    k_http, k_mt, k_dlr = measure_sendsms_baseline(requests, kannel, counter, bare_log)

    def bare_diagnostics():
        return f"{bare.tail()}\n{kannel.diagnostics(10)}"

    common.log(f"baseline: {args.replies} replies through Kannel to the bare receiver")
    before = bare_counts(bare_log)[0]
    inbound.append(
        measure_via_kannel(
            BARE_KANNEL,
            kannel,
            mo_lines(kannel, mobiles_k, texts_k),
            lambda: bare_counts(bare_log)[0] - before,
            bare_diagnostics,
        )
    )
    common.log(f"baseline: {args.replies} replies by direct HTTP to the bare receiver")
    inbound.append(measure_direct(BARE_DIRECT, urls, args.clients))
    send_mo_rate = measure_send_mo(kannel, bare_log, mobiles_k[:10], settings.KANNEL_SENDER)

    if args.profile:
        profile(surveys, rng)
    connections.close_all()
    outbound = Outbound(
        len(surveys.outbound),
        args.senders,
        t_sent,
        t_mt,
        t_dlr,
        dlrs,
        dlr_at_sent,
        passes,
        k_http,
        k_mt,
        k_dlr,
        breakdown,
    )
    return Result(
        outbound,
        inbound,
        send_mo_rate,
        args.interval,
        args.batch,
        args.workers,
        settings.KANNEL_CONCURRENCY,
        args.clients,
        at_start,
    )


def run_out_baseline(args, kannel, sock, session, app, counter, measured, at_start) -> Result:
    """--out-only: after the outbound run, only Kannel's own sendsms with the same requests
    (delivery reports to the bare receiver); no replies."""
    from django.conf import settings
    from django.db import connections

    requests = sendsms_requests()
    connections.close_all()
    app.stop()
    bare_log = session.workdir / "bare.log"
    bare = common.Server(
        app="bench.sms:bare_app", sock=sock, workers=args.workers,
        log_path=session.workdir / "gunicorn-bare.log", env={BARE_LOG_ENV: str(bare_log)},
    )  # fmt: skip
    session.on_exit("stop gunicorn", bare.stop)
    bare.start()
    common.log(f"baseline: {len(requests)} sendsms requests straight to Kannel")
    k_http, k_mt, k_dlr = measure_sendsms_baseline(requests, kannel, counter, bare_log)
    t_sent, t_mt, t_dlr, dlrs, dlr_at_sent, passes, breakdown = measured
    outbound = Outbound(
        args.surveys, args.senders, t_sent, t_mt, t_dlr, dlrs, dlr_at_sent, passes,
        k_http, k_mt, k_dlr, breakdown,
    )  # fmt: skip
    return Result(
        outbound, [], 0.0, args.interval, args.batch, args.workers,
        settings.KANNEL_CONCURRENCY, args.clients, at_start,
    )  # fmt: skip


def print_report(r: Result) -> None:
    o = r.outbound
    n = o.messages
    common.print_heading(r.machine_at_start)
    print(
        f"Outbound: {n} surveys, {o.senders} worker process(es) (batch {r.batch}, --interval "
        f"{r.interval:g} s; {o.passes} send run(s) with sends), {r.concurrency} parallel sendsms "
        f"requests a process; delivery reports to Minyi on gunicorn, {r.workers} workers"
    )
    table = common.Table(label=50, count=7, seconds=9, rate=8)
    row = table.row
    table.header("count", "per s")
    row("Minyi: due -> accepted by Kannel (all sent)", n, o.app_sent)
    row("  ... and all seen by fakesmsc", n, o.app_mt)
    row("  ... and all delivery reports recorded", o.dlr_count, o.app_dlr)
    if o.app_dlr > o.app_sent:
        row("      (of which after the sender had finished)", o.dlr_count - o.dlr_at_sent,
            o.app_dlr - o.app_sent)  # fmt: skip
    row("Kannel sendsms alone: requests answered", n, o.kannel_http)
    row("  ... and all seen by fakesmsc", n, o.kannel_mt)
    row("  ... and all delivery reports at the bare receiver", o.dlr_count, o.kannel_dlr)
    print("Where the sender's time went (seconds from due to all sent, by the worker's output):")
    for label, seconds in o.breakdown:
        print(f"  {label:<56} {seconds:8.2f}")
    if not r.inbound:  # --out-only
        out_rate, base_rate = n / o.app_seconds, n / o.kannel_seconds
        print(f"sms: outbound {out_rate:.0f} surveys/s; kannel sendsms {base_rate:.0f} msgs/s; "
              f"ratio {out_rate / base_rate:.2f}", flush=True)  # fmt: skip
        return
    print(
        f"Inbound: {r.path(APP_KANNEL).replies} replies a path; through Kannel = lines on the fake "
        f"SMSC link, smsbox get-url; direct = {r.clients} HTTP clients"
    )
    table.header("replies", "per s")
    for p in r.inbound:
        row(p.label + (" (stored)" if p.label.startswith("Minyi") else ""), p.replies, p.seconds)
        if p.kannel_received is not None:
            row("  ... bearerbox had received them all", p.replies, p.kannel_received)
    print(f"(the harness's send_mo, one fakesmsc process a message: {r.send_mo_rate:.0f}/s)")
    out_rate, base_rate = n / o.app_seconds, n / o.kannel_seconds
    app_in, bare_in = r.path(APP_KANNEL), r.path(BARE_KANNEL)
    attach = next(p for p in r.inbound if p.label.startswith(ATTACH))
    print(
        f"sms: outbound {out_rate:.0f} surveys/s; kannel sendsms {base_rate:.0f} msgs/s; "
        f"ratio {out_rate / base_rate:.2f}; inbound {app_in.rate:.0f} replies/s; "
        f"bare receiver {bare_in.rate:.0f} replies/s; ratio {app_in.rate / bare_in.rate:.2f}; "
        f"attached {attach.rate:.0f} replies/s; ratio to stored {attach.rate / app_in.rate:.2f}",
        flush=True,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surveys", type=int, default=5_000, help="outbound surveys [5000]")
    parser.add_argument("--replies", type=int, default=2_000, help="replies a path [2000]")
    parser.add_argument("--senders", type=int, default=1, help="`manage.py worker` processes [1]")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="worker's --interval [1.0 s, its default]"
    )
    parser.add_argument(
        "--batch", type=int, default=200, help="messages a claim, MINYI_SMS_SEND_BATCH [200]"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--clients", type=int, default=8, help="direct HTTP clients [8]")
    parser.add_argument("--timeout", type=int, default=360, help="abort after seconds [360]")
    parser.add_argument("--seed", type=int, default=20261124, help="data generator seed")
    parser.add_argument("--profile", action="store_true", help="also cProfile in-process")
    parser.add_argument("--out-only", action="store_true", help="surveys out only, no replies")
    args = parser.parse_args(argv)
    if min(args.surveys, args.replies, args.senders, args.batch, args.workers, args.clients) < 1:
        parser.error("counts must be >= 1")
    if args.replies < 10:
        parser.error("need --replies >= 10")
    if args.interval < 0:
        parser.error("--interval must be >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench_sms", args.timeout) as session:
        session.create_database()
        # The web socket, inherited by each gunicorn in turn, so that Kannel's get-url and the
        # dlr-urls keep one address. A deep backlog: smsbox opens up to 512 callbacks at once,
        # and a refused one waits http-queue-delay before its retry.
        sock = common.listening_socket(backlog=4096)
        session.on_exit("close the web socket", sock.close)
        web_url = f"http://{common.HOST}:{sock.getsockname()[1]}"
        token = secrets.token_urlsafe(24)
        kannel = start_kannel(web_url, token)
        session.on_exit("stop Kannel", kannel.stop)
        configure_environment(session.db_name, web_url, kannel, token)
        result = run(args, kannel, sock, session)
    if result is not None:
        print_report(result)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

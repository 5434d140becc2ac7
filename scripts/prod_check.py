"""`make prod-check`: the production layout (deploy/) run on loopback and driven end to end.

Run from the repository root: `.venv/bin/python scripts/prod_check.py [--scale 1,2] [--events N]`.

1. A throwaway PostgreSQL database `minyi_prodcheck_<pid>` (127.0.0.1:5432, user postgres),
   migrated, with the demo city and an API key; static files collected into a temp dir; a
   self-signed certificate made with openssl.
2. nginx from deploy/nginx/minyi.conf (rendered by deploy/render_nginx.py for loopback; a
   non-daemon child with its own prefix, pid and logs in the temp dir) in front of two
   gunicorn web processes (deploy/gunicorn.conf.py); a real Kannel with the fake SMSC
   (minyi/integrations/sms/tests/kannel_harness.py) whose get-url and delivery reports come
   back through nginx over HTTPS.
3. For each `--scale` S: S senders and S workers, started with the commands of
   deploy/systemd/minyi-sender@.service and minyi-worker@.service. N service events are
   posted through nginx (`POST /api/v1/events`); once fakesmsc has every survey SMS, the
   citizens answer on the fake SMSC (one in five unsatisfied); the check waits until every
   survey is answered and every unsatisfied one has its callback, then counts the SMS per
   survey at fakesmsc (each exactly once) and prints surveys sent/s and replies attached/s.
4. Once: the HTTP→HTTPS redirect, static files served by nginx, no media, a body over
   MINYI_MAX_REQUEST_MB refused with 413, a client's X-Forwarded-For not trusted (a failed
   sign-in is recorded under the address nginx saw), and no query string (gateway token,
   mobiles) in nginx's access log.

Everything is stopped and the database dropped at the end, on failure, timeout (--timeout)
and Ctrl-C too. Exit status 0 only when every check passed.
"""

import argparse
import contextlib
import importlib.util
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import common  # noqa: E402 - bench/common.py: database, environment, processes, Session

from minyi.integrations.sms.tests.kannel_harness import (  # noqa: E402
    KannelHarness,
    _free_ports,
    join_parts,
)

DEPLOY = ROOT / "deploy"
SENDER_UNIT = DEPLOY / "systemd" / "minyi-sender@.service"
WORKER_UNIT = DEPLOY / "systemd" / "minyi-worker@.service"
WEB_UNIT = DEPLOY / "systemd" / "minyi-web@.service"
UNIT_ROOT = "/opt/minyi"  # where the units expect the checkout
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
INBOUND_PATH = "/sms/kannel/inbound"
STALL_SECONDS = 60
SPOOFED_ADDRESS = "203.0.113.7"  # TEST-NET-3: never a real client here
UNSATISFIED_EVERY = 5  # one reply in five is unsatisfied
SATISFIED, UNSATISFIED = "1", "5 态度不好，办事拖拉"
MAX_REQUEST_MB = 16


class CheckFailed(common.BenchError):
    pass


def log(message: str) -> None:
    print(f"[prod-check] {message}", file=sys.stderr, flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
    log(f"ok: {message}")


# --- The units' commands ---------------------------------------------------------------------


def unit_command(unit: Path, instance: str) -> list[str]:
    """ExecStart of a unit file, %i filled, run from this checkout with this interpreter."""
    match = re.search(r"^ExecStart=(.+)$", unit.read_text(), re.MULTILINE)
    if match is None:
        raise CheckFailed(f"{unit}: no ExecStart")
    argv = shlex.split(match.group(1).replace("%i", instance))
    venv_bin = f"{UNIT_ROOT}/.venv/bin/"
    if argv[0] == venv_bin + "python":
        argv[0] = sys.executable
    elif argv[0].startswith(venv_bin):  # a console script: run it as a module
        argv[:1] = [sys.executable, "-m", argv[0].removeprefix(venv_bin)]
    return argv


class Child:
    """One process of the layout, its output in a log file, stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict | None = None):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments from deploy/
                argv,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 20) -> None:
        common.stop_process(self.proc, grace=grace, group=True)

    def tail(self) -> str:
        return f"--- {self.name}\n{common.tail(self.log_path, 20)}"


# --- nginx -----------------------------------------------------------------------------------


def load_renderer():
    spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_certificate(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "tls" / "cert.pem", workdir / "tls" / "key.pem"
    cert.parent.mkdir()
    subprocess.run(  # noqa: S603 - fixed arguments
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_main_conf(workdir: Path, site: Path) -> str:
    """The main context Debian's /etc/nginx/nginx.conf gives in production, for a throwaway
    instance: everything in the temp dir, in the foreground. As root the workers would
    switch to a user that cannot read the temp dir: they stay root here (loopback only)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = workdir / "nginx"
    return f"""{user}daemon off;
master_process on;
worker_processes 2;
pid {temp}/nginx.pid;
error_log {temp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""


@dataclass
class Layout:
    workdir: Path
    https: str  # https://127.0.0.1:PORT
    http: str
    access_log: Path
    static_root: Path
    api_key: str
    kannel: KannelHarness
    children: list


def start_nginx(session, workdir: Path, ports: dict, static_root: Path) -> Path:
    cert, key = make_certificate(workdir)
    (workdir / "nginx").mkdir()
    access_log = workdir / "nginx" / "access.log"
    site = workdir / "nginx" / "minyi.conf"
    site.write_text(
        load_renderer().render(
            server_name="127.0.0.1",
            certificate=str(cert),
            certificate_key=str(key),
            static_root=str(static_root),
            web=[f"127.0.0.1:{port}" for port in ports["web"]],
            max_request_mb=MAX_REQUEST_MB,
            listen_address="127.0.0.1",
            https_port=ports["https"],
            http_port=ports["http"],
            access_log=str(access_log),
        )
    )
    main = workdir / "nginx" / "nginx.conf"
    main.write_text(nginx_main_conf(workdir, site))
    argv = [NGINX, "-e", "stderr", "-p", str(workdir / "nginx"), "-c", str(main)]
    test = subprocess.run([*argv, "-t"], capture_output=True, text=True)  # noqa: S603
    if test.returncode:
        raise CheckFailed(f"nginx -t refused the rendered config:\n{test.stderr}")
    child = Child("nginx", argv, workdir)
    session.on_exit("stop nginx", lambda: child.stop(grace=5))
    session.show_on_failure("nginx", workdir / "nginx" / "error.log")
    deadline = time.monotonic() + 20
    while True:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", ports["https"]), timeout=1),
        ):
            break
        if not child.alive() or time.monotonic() > deadline:
            raise CheckFailed(
                f"nginx did not start:\n{common.tail(workdir / 'nginx' / 'error.log')}"
            )
        time.sleep(0.1)
    log(f"nginx {ports['https']} (https), {ports['http']} (http) → gunicorn {ports['web']}")
    return access_log


def client(layout: Layout, **kwargs) -> httpx.Client:
    """An HTTPS client trusting the throwaway certificate only."""
    context = ssl.create_default_context(cafile=str(layout.workdir / "tls" / "cert.pem"))
    return httpx.Client(base_url=layout.https, verify=context, timeout=60, **kwargs)


# --- Set-up ----------------------------------------------------------------------------------


def set_up(session, args) -> Layout:
    workdir = session.workdir
    https_port, http_port, *web_ports = _free_ports(4)
    ports = {"https": https_port, "http": http_port, "web": web_ports}
    https = f"https://127.0.0.1:{https_port}"
    token = secrets.token_urlsafe(24)
    # Kannel calls back through nginx, over HTTPS, as it would in production.
    kannel = KannelHarness(
        mo_url_template=f"{https}{INBOUND_PATH}?token={token}&id=%I&from=%p&to=%P&text=%b",
        sendsms_password=secrets.token_urlsafe(16),
        http_request_retry=10,
        http_queue_delay=2,
        stop_timeout=10,
    )
    kannel.start()
    session.on_exit("stop Kannel", kannel.stop)
    static_root = workdir / "static"
    common.configure_environment(
        session.db_name,
        {
            "MINYI_SMS_BACKEND": "kannel",
            "MINYI_KANNEL_SENDSMS_URL": kannel.sendsms_url,
            "MINYI_KANNEL_USERNAME": kannel.sendsms_username,
            "MINYI_KANNEL_PASSWORD": kannel.sendsms_password,
            "MINYI_SMS_CALLBACK_TOKEN": token,
            "MINYI_PUBLIC_BASE_URL": https,
            "MINYI_ALLOWED_HOSTS": "127.0.0.1",
            "MINYI_CSRF_TRUSTED_ORIGINS": https,
            "MINYI_BEHIND_TLS_PROXY": "true",
            "MINYI_TRUSTED_PROXY_COUNT": "1",
            "MINYI_SECURE_COOKIES": "true",
            "MINYI_STATIC_ROOT": str(static_root),
            "MINYI_MAX_REQUEST_MB": str(MAX_REQUEST_MB),
            "MINYI_WEB_WORKERS": "2",
            # No quiet hours: the time of day must not matter.
            "MINYI_SURVEY_QUIET_START_HOUR": "24",
            "MINYI_SURVEY_QUIET_END_HOUR": "0",
        },
    )
    session.create_database()
    common.migrate_and_build_city()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    api_key = create_api_key()
    children = []
    for i, port in enumerate(web_ports, 1):
        web = Child(f"web{i}", unit_command(WEB_UNIT, str(port)), workdir)
        session.on_exit(f"stop web{i}", web.stop)
        session.show_on_failure(f"web{i}", web.log_path)
        children.append(web)
    access_log = start_nginx(session, workdir, ports, static_root)
    layout = Layout(
        workdir, https, f"http://127.0.0.1:{http_port}", access_log, static_root, api_key,
        kannel, children,
    )  # fmt: skip
    wait_for_web(layout)
    return layout


def create_api_key() -> str:
    from io import StringIO

    from django.core.management import call_command

    from minyi.orgs.models import OrgUnit

    root = OrgUnit.objects.filter(depth=1).order_by("path").first()
    out = StringIO()
    call_command("create_api_key", "prod-check", root.code, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def wait_for_web(layout: Layout) -> None:
    deadline = time.monotonic() + 90
    with client(layout) as http:
        while True:
            for web in layout.children:
                if not web.alive():
                    raise CheckFailed(f"{web.name} exited:\n{web.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if http.get("/healthz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise CheckFailed("no answer from /healthz through nginx in 90 s")
            time.sleep(0.3)


# --- The edge: redirect, static, media, size limit, client address, logs ---------------------


def check_edge(layout: Layout) -> dict:
    with httpx.Client(timeout=10) as plain:
        response = plain.get(layout.http + "/accounts/login/?next=/x")
    check(
        response.status_code == 301
        and response.headers["location"] == layout.https + "/accounts/login/?next=/x",
        "plain HTTP is redirected to HTTPS",
    )
    static_file = next(p for p in sorted(layout.static_root.rglob("*.css")) if p.is_file())
    path = "/static/" + static_file.relative_to(layout.static_root).as_posix()
    with client(layout) as http:
        response = http.get(path)
        check(
            response.status_code == 200
            and response.content == static_file.read_bytes()
            and "public" in response.headers.get("cache-control", "")
            and "content-security-policy" not in response.headers,  # Django's header
            f"static files served by nginx ({path})",
        )
        check(http.get("/media/anything.jpg").status_code == 404, "no media served")
        response = http.post(
            "/api/v1/events",
            content=b"x" * (20 * 2**20),
            headers={"X-API-Key": layout.api_key, "Content-Type": "application/json"},
        )
        check(
            response.status_code == 413,
            f"a 20 MB body is refused with 413 (max {MAX_REQUEST_MB} MB)",
        )
        check(
            "strict-transport-security" in http.get("/healthz").headers,
            "HSTS on every HTTPS answer",
        )
        recorded = failed_sign_in_address(http)
    check(
        recorded == "127.0.0.1",
        f"a client's X-Forwarded-For is not trusted (recorded {recorded!r}, not {SPOOFED_ADDRESS})",
    )
    return {"static": path}


def failed_sign_in_address(http: httpx.Client) -> str:
    """Sign in with a wrong password, claiming to be SPOOFED_ADDRESS; the address the
    sign-in lockout recorded (django-axes, minyi.core.net.client_ip)."""
    from axes.models import AccessAttempt

    page = http.get("/accounts/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if csrf is None:
        raise CheckFailed("no CSRF token on the sign-in page")
    http.post(
        "/accounts/login/",
        data={
            "csrfmiddlewaretoken": csrf.group(1),
            "username": "prod-check-nobody",
            "password": "wrong",
        },
        headers={
            "X-Forwarded-For": SPOOFED_ADDRESS,
            "X-Real-IP": SPOOFED_ADDRESS,
            "Referer": str(http.base_url) + "/accounts/login/",
        },
    )
    attempt = AccessAttempt.objects.order_by("-pk").first()
    if attempt is None:
        raise CheckFailed("the failed sign-in was not recorded")
    return attempt.ip_address


def check_access_log(layout: Layout, token: str, mobiles: list[str]) -> None:
    text = layout.access_log.read_text(errors="replace")
    check(
        INBOUND_PATH in text and "?" not in text and token not in text
        and not any(m in text for m in mobiles[:200]),
        f"nginx's access log holds no query string, token or mobile "
        f"({text.count(chr(10))} lines)",
    )  # fmt: skip


# --- The survey loop -------------------------------------------------------------------------


@dataclass
class Round:
    scale: int
    events: int
    ingest_seconds: float
    sent_seconds: float
    stored_seconds: float
    attached_seconds: float
    unsatisfied: int
    duplicates: int

    @property
    def sent_rate(self) -> float:
        return self.events / self.sent_seconds

    @property
    def attached_rate(self) -> float:
        return self.events / self.attached_seconds


def make_events(round_no: int, n: int) -> tuple[list[dict], list[str]]:
    from minyi.orgs.models import Officer

    staff = list(
        Officer.objects.filter(unit__kind="police_station", is_active=True)
        .order_by("pk")
        .values_list("police_number", "unit__code")
    )
    if not staff:
        raise CheckFailed("the demo city has no police station with officers")
    occurred = (datetime.now().astimezone() - timedelta(minutes=40)).replace(microsecond=0)
    mobiles = [f"13{round_no}{i:08d}" for i in range(n)]
    events = []
    for i, mobile in enumerate(mobiles):
        number, unit = staff[i % len(staff)]
        events.append(
            {
                "source": "110jcj",
                "external_id": f"PRODCHECK-{round_no}-{i:07d}",
                "business_type": "help_request",
                "unit": unit,
                "officers": [number],
                "citizen_mobile": mobile,
                "occurred_at": occurred.isoformat(),
            }
        )
    return events, mobiles


def post_events(layout: Layout, events: list[dict], batch: int = 500) -> float:
    started = time.perf_counter()
    with client(layout, headers={"X-API-Key": layout.api_key}) as http:
        for start in range(0, len(events), batch):
            response = http.post("/api/v1/events", json={"events": events[start : start + batch]})
            if response.status_code != 200:
                raise CheckFailed(
                    f"POST /api/v1/events: {response.status_code} {response.text[:500]}"
                )
    return time.perf_counter() - started


def wait_until(what: str, progress, target: int, processes) -> float:
    last, moved = -1, time.monotonic()
    while True:
        value = progress()
        if value >= target:
            return time.perf_counter()
        dead = [p for p in processes if not p.alive()]
        if dead:
            raise CheckFailed(f"{what}: {dead[0].name} exited\n{dead[0].tail()}")
        if value != last:
            last, moved = value, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            tails = "\n".join(p.tail() for p in processes)
            raise CheckFailed(
                f"{what}: stuck at {value} of {target} for {STALL_SECONDS} s\n{tails}"
            )
        time.sleep(0.1)


class MoInjector:
    """The SMSC side of Kannel's fake MO link: one connection, one fakesmsc line a reply
    (the harness's send_mo starts a process per message: too slow for thousands)."""

    def __init__(self, kannel: KannelHarness):
        self.kannel = kannel

    def send(self, lines: list[str]) -> None:
        with socket.create_connection(("127.0.0.1", self.kannel.fake_mo_port), timeout=30) as sock:
            sock.sendall("".join(line + "\n" for line in lines).encode("ascii"))
            deadline = time.monotonic() + 120
            while self.received() < len(lines) and time.monotonic() < deadline:
                time.sleep(0.1)
        deadline = time.monotonic() + 5  # the link takes one client at a time
        while self.kannel._online("fake-mo") and time.monotonic() < deadline:
            time.sleep(0.05)

    def received(self) -> int:
        return self.kannel._mo_received()


def survey_loop(layout: Layout, scale: int, round_no: int, n: int, session) -> Round:
    from django.db import close_old_connections

    from minyi.callbacks.models import Callback
    from minyi.integrations.sms.models import InboundSms
    from minyi.perception.models import Survey, SurveyStatus

    kannel = layout.kannel
    processes = []
    for i in range(1, scale + 1):
        for kind, unit in (("sender", SENDER_UNIT), ("worker", WORKER_UNIT)):
            child = Child(f"{kind}{i}-scale{scale}", unit_command(unit, str(i)), layout.workdir)
            session.on_exit(f"stop {child.name}", child.stop)
            processes.append(child)
    processes += layout.children
    events, mobiles = make_events(round_no, n)
    before_mt = len(kannel.mt_lines())
    mo_before = kannel._mo_received()
    log(f"scale {scale}: {scale} sender(s), {scale} worker(s); posting {n} events")

    # When the events come in through nginx
    started = time.perf_counter()
    ingest_seconds = post_events(layout, events)

    # Then every survey SMS reaches the fake SMSC
    def mt_count() -> int:
        return len(join_parts(kannel.mt_lines()[before_mt:]))

    sent_at = wait_until("survey SMS at fakesmsc", mt_count, n, processes)
    sent_seconds = sent_at - started
    time.sleep(2)  # a duplicate sent late would show now
    messages = join_parts(kannel.mt_lines()[before_mt:])
    per_mobile: dict[str, int] = {}
    for message in messages:
        per_mobile[message.receiver] = per_mobile.get(message.receiver, 0) + 1
    duplicates = sum(count - 1 for count in per_mobile.values() if count > 1)
    missing = set(mobiles) - per_mobile.keys()

    # When the citizens answer, one in five unsatisfied
    unsatisfied_mobiles = set(mobiles[::UNSATISFIED_EVERY])
    lines = [
        kannel.mo_line(
            m, message_sender(messages), UNSATISFIED if m in unsatisfied_mobiles else SATISFIED
        )
        for m in mobiles
    ]
    stored_before = InboundSms.objects.count()
    replies_started = time.perf_counter()
    MoInjector(kannel).send(lines)

    def stored() -> int:
        close_old_connections()
        return InboundSms.objects.count() - stored_before

    stored_at = wait_until("replies stored by the web processes", stored, n, processes)
    check(kannel._mo_received() - mo_before == n, f"scale {scale}: {n} replies taken by Kannel")
    round_ids = list(
        Survey.objects.filter(event__external_id__startswith=f"PRODCHECK-{round_no}-").values_list(
            "pk", flat=True
        )
    )

    def answered() -> int:
        close_old_connections()
        return Survey.objects.filter(pk__in=round_ids, status=SurveyStatus.ANSWERED).count()

    attached_at = wait_until("replies attached", answered, n, processes)
    unsatisfied_ids = list(
        Survey.objects.filter(pk__in=round_ids, rating__gte=4).values_list("pk", flat=True)
    )

    def callbacks() -> int:
        close_old_connections()
        return (
            Callback.objects.filter(survey__in=unsatisfied_ids).values("survey").distinct().count()
        )

    wait_until("callbacks for the unsatisfied", callbacks, len(unsatisfied_ids), processes)
    for child in processes[: 2 * scale]:
        child.stop()
    check(len(round_ids) == n, f"scale {scale}: {n} surveys for {n} events")
    check(not missing and len(messages) == n and duplicates == 0,
          f"scale {scale}: each survey's SMS sent once ({len(messages)} at fakesmsc, "
          f"{duplicates} duplicates, {len(missing)} missing)")  # fmt: skip
    check(len(unsatisfied_ids) == len(unsatisfied_mobiles),
          f"scale {scale}: {len(unsatisfied_ids)} unsatisfied, each with a callback")  # fmt: skip
    return Round(
        scale, n, ingest_seconds, sent_seconds, stored_at - replies_started,
        attached_at - replies_started,
        len(unsatisfied_ids), duplicates,
    )  # fmt: skip


def message_sender(messages) -> str:
    return messages[0].sender if messages else "10690000"


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        default="2",
        help="senders and workers per round, comma-separated (e.g. 1,2; default 2)",
    )
    parser.add_argument("--events", type=int, default=200, help="events per round (default 200)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for the whole run")
    args = parser.parse_args(argv)
    args.scales = [int(s) for s in args.scale.split(",") if s.strip()]
    if not args.scales or any(s < 1 or s > 8 for s in args.scales):
        parser.error("--scale takes 1 to 8 processes a round")
    if not 10 <= args.events <= 9_999_999:
        parser.error("--events: 10 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    at_start = common.machine_at_start()
    rounds: list[Round] = []
    with common.Session("minyi_prodcheck", args.timeout) as session:
        layout = set_up(session, args)
        check_edge(layout)
        all_mobiles = []
        for round_no, scale in enumerate(args.scales, 1):
            rounds.append(survey_loop(layout, scale, round_no, args.events, session))
            all_mobiles += make_events(round_no, 3)[1]
        check_access_log(layout, os.environ["MINYI_SMS_CALLBACK_TOKEN"], all_mobiles)
        common.print_heading(at_start)
        print(f"{'senders+workers':>16} {'events':>7} {'ingest/s':>9} {'sent/s':>8} "
              f"{'stored/s':>9} {'attached/s':>11} {'unsatisfied':>12} "
              f"{'duplicates':>11}")  # fmt: skip
        for r in rounds:
            print(f"{r.scale:>16} {r.events:>7} {r.events / r.ingest_seconds:>9.0f} "
                  f"{r.sent_rate:>8.1f} {r.events / r.stored_seconds:>9.1f} "
                  f"{r.attached_rate:>11.1f} {r.unsatisfied:>12} "
                  f"{r.duplicates:>11}")  # fmt: skip
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("prod-check: all checks passed")
    return session.status


if __name__ == "__main__":
    sys.exit(main())

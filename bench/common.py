"""What the benchmarks in bench/ share: the throwaway database, the environment and secrets set
before Django is imported, migrations and the demo city, gunicorn on a loopback socket bound
here, stopping child processes, the time bound, signals and clean-up (`Session`), running jobs
on client threads, and printing the table and the profile breakdown.

The scripts run as `python bench/<name>.py`, so bench/ is on sys.path and this module is
`common`; gunicorn imports `bench.sms` (its bare receiver), which then finds it as
`bench.common`.
"""

import contextlib
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
HOST = "127.0.0.1"  # where the servers listen
SHANGHAI = timezone(timedelta(hours=8))
MOBILE_PREFIXES = ("130", "133", "135", "136", "137", "138", "139", "150", "151", "152")
MOBILE_PREFIXES += ("158", "159", "180", "182", "186", "187", "188", "189", "191", "199")


class BenchError(Exception):
    pass


class BenchTimeout(BaseException):
    """Raised in the main thread by SIGALRM; a BaseException so nothing swallows it."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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


def machine_at_start() -> str:
    """machine(), with a note on stderr if the machine is already busy."""
    at_start = machine()
    if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.5:
        log(f"note: the machine is busy ({at_start}); figures will be low and noisy")
    return at_start


# --- Database and Django ---------------------------------------------------------------------


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


def checkpoint() -> None:
    """Flush dirty pages before each measurement, so neither pays for the other's writes."""
    with admin_connection() as conn:
        conn.execute("CHECKPOINT")


def configure_environment(db_name: str, extra: dict[str, str]) -> None:
    """Everything the settings need, with fresh secrets, plus the script's `extra`, set before
    Django is imported (the repository's .env never overrides these: it is read with
    overwrite=False). gunicorn and other children get a copy."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "minyi.settings",
            "MINYI_DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}",
            "MINYI_DEBUG": "false",
            "MINYI_DEMO_MODE": "true",
            "MINYI_SECRET_KEY": secrets.token_urlsafe(50),
            "MINYI_PII_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "MINYI_PII_HASH_KEY": secrets.token_urlsafe(32),
            "MINYI_VOTE_KEY": secrets.token_urlsafe(32),
            "MINYI_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MINYI_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def migrate_and_build_city() -> None:
    """Set Django up, migrate the throwaway database and build the demo city in it."""
    import django

    django.setup()
    from django.core.management import call_command

    from minyi.demo.city import build_demo_city

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    city = build_demo_city()
    log(
        f"demo city: {city.units} units, {city.officers} officers "
        f"({time.perf_counter() - started:.1f} s)"
    )


# --- Processes -------------------------------------------------------------------------------


def listening_socket(backlog: int) -> socket.socket:
    """A loopback socket bound here and inherited by gunicorn (no port race; one address for
    as long as the script holds it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, "" if there is none."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def stop_process(proc: subprocess.Popen, *, grace: float = 10, group: bool = False) -> None:
    """SIGTERM to `proc` (to its whole process group if `group`), then SIGKILL to the group
    after `grace` seconds. `proc` must have been started with start_new_session=True."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the process and its children
        proc.wait(timeout=10)


class Server:
    """gunicorn serving `app` with sync workers on `sock`, which the caller owns."""

    def __init__(self, *, app: str, sock: socket.socket, workers: int, log_path: Path, env=None):
        self.app = app
        self.sock = sock
        self.workers = workers
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://{HOST}:{sock.getsockname()[1]}"

    def start(self) -> None:
        try:
            import gunicorn  # noqa: F401
        except ImportError as exc:
            raise BenchError(
                "gunicorn is not installed in the virtualenv (.venv/bin/pip install gunicorn; "
                "it belongs in pyproject's dev dependencies)"
            ) from exc
        command = [
            sys.executable, "-m", "gunicorn", self.app,
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
            env={**os.environ, **self.env},
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
        log(f"gunicorn {self.app}: pid {self.proc.pid}, {self.workers} workers, {self.base_url}")

    def tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)  # the arbiter stops its workers
        self.proc = None


def run_concurrently(jobs: list, clients: int, make_worker) -> float:
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


# --- A run: time bound, signals, clean-up ----------------------------------------------------


class Session:
    """One bounded run: `with Session(prefix, timeout) as session:` around all of main's work.

    Inside, SIGALRM after `timeout` seconds raises BenchTimeout and SIGTERM raises
    KeyboardInterrupt. `create_database()` makes `<prefix>_<pid>`; `on_exit()` registers what
    to stop. On the way out, however it ends: the alarm is cancelled, Ctrl-C and SIGTERM are
    ignored, the failure (if any) is logged and `status` set (0 done, 1 failed, 2 timed out,
    130 interrupted), the registered stops run in reverse order, Django's connections are
    closed, the database is dropped and `workdir` removed. Failures are not re-raised.
    """

    def __init__(self, prefix: str, timeout: int):
        self.prefix = prefix
        self.timeout = timeout
        self.db_name = f"{prefix}_{os.getpid()}"
        self.workdir = Path()
        self.status = 1
        self._created = False
        self._stops: list[tuple[str, Callable[[], object]]] = []
        self._logs: list[tuple[str, Path]] = []

    def __enter__(self) -> "Session":
        def on_alarm(_signum, _frame):
            raise BenchTimeout

        def on_term(_signum, _frame):
            raise KeyboardInterrupt

        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}_"))
        signal.signal(signal.SIGALRM, on_alarm)
        signal.signal(signal.SIGTERM, on_term)
        signal.alarm(self.timeout)
        return self

    def create_database(self) -> None:
        with admin_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
        self._created = True
        log(f"database {self.db_name} on {PG_HOST}:{PG_PORT}")

    def on_exit(self, what: str, stop: Callable[[], object]) -> None:
        """Call `stop()` on the way out; `what` completes "could not ..." if it fails."""
        self._stops.append((what, stop))

    def show_on_failure(self, what: str, log_path: Path) -> None:
        """On a BenchError, also log the last lines of this log file."""
        self._logs.append((what, log_path))

    def __exit__(self, exc_type, exc, _tb) -> bool:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # clean up without being cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        handled = True
        if exc is None:
            self.status = 0
        elif isinstance(exc, BenchTimeout):
            log(f"aborted: over the {self.timeout} s time limit")
            self.status = 2
        elif isinstance(exc, KeyboardInterrupt):
            log("interrupted")
            self.status = 130
        elif isinstance(exc, BenchError):
            log(f"failed: {exc}")
            for what, path in self._logs:
                if text := tail(path):
                    log(f"{what} log (last lines):\n{text}")
        elif isinstance(exc, Exception):
            log(f"failed:\n{''.join(traceback.format_exception(exc))}")
        else:
            handled = False
        self._clean_up()
        return handled

    def _clean_up(self) -> None:
        for what, stop in reversed(self._stops):
            try:
                stop()
            except Exception as exc:
                log(f"could not {what}: {exc}")
        if "django" in sys.modules:
            from django.db import connections

            with contextlib.suppress(Exception):
                connections.close_all()
        if self._created:
            try:
                with admin_connection() as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(self.db_name)
                        )
                    )
                log(f"dropped {self.db_name}")
            except psycopg.Error as exc:
                log(f"could not drop {self.db_name}: {exc}")
        shutil.rmtree(self.workdir)


# --- Output ----------------------------------------------------------------------------------


def print_heading(machine_at_start: str) -> None:
    """The first line of the report: date, time and the machine as it was at the start."""
    print(f"\n{datetime.now(SHANGHAI):%Y-%m-%d %H:%M %z}; {machine_at_start}")


@dataclass(frozen=True)
class Table:
    """Rows of label, count, seconds and count per second, in columns of these widths."""

    label: int
    count: int
    seconds: int
    rate: int

    def header(self, count: str, rate: str) -> None:
        print(
            f"{'':<{self.label}} {count:>{self.count}} {'seconds':>{self.seconds}} "
            f"{rate:>{self.rate}}"
        )

    def row(self, label: str, count: int, seconds: float) -> None:
        print(
            f"{label:<{self.label}} {count:>{self.count}} {seconds:>{self.seconds}.2f} "
            f"{count / seconds:>{self.rate}.0f}"
        )


def print_breakdown(stats, breakdown) -> None:
    """For each (label, file suffix, function) the cumulative seconds of that function in
    the profile `stats` (a pstats.Stats)."""
    for label, suffix, name in breakdown:
        total = sum(
            ct
            for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
            if func == name and path.replace("\\", "/").endswith(suffix)
        )
        print(f"  {label:<44} {total:8.3f}")

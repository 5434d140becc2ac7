"""Exactly once under SIGKILL: a real sender process (manage.py worker) is killed
several times while it sends 10,000 messages through a real Kannel; the fake SMSC must see
every message exactly once.

It runs in its own database (a temp SQLite file, or a throwaway PostgreSQL database when the
suite runs on PostgreSQL), with the web server (for Kannel's delivery reports) and the sender
as separate processes, as in production.
"""

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from minyi.integrations.sms.tests.kannel_harness import KannelHarness

MESSAGES = 10_000
KILLS = 4
TOKEN = "crash-test-token"
ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """A database of its own, on the engine the suite runs on."""

    def __init__(self, tmp_path):
        self.postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
        if self.postgres:
            import psycopg

            self.name = f"minyi_crash_{os.getpid()}"
            conf = settings.DATABASES["default"]
            self.dsn = (
                f"host={conf['HOST'] or '127.0.0.1'} port={conf['PORT'] or 5432} "
                f"user={conf['USER']}"
            )
            with psycopg.connect(self.dsn + " dbname=postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                c.execute(f'CREATE DATABASE "{self.name}"')
            self.url = (
                f"postgres://{conf['USER']}@{conf['HOST'] or '127.0.0.1'}:"
                f"{conf['PORT'] or 5432}/{self.name}"
            )
        else:
            self.path = tmp_path / "crash.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def query(self, sql):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.dsn + f" dbname={self.name}") as c:
                return c.execute(sql).fetchall()
        with sqlite3.connect(self.path, timeout=30) as c:
            return c.execute(sql).fetchall()

    def drop(self):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.dsn + " dbname=postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


SEED = f"""
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms
OutboundSms.objects.bulk_create(
    [OutboundSms(to_mobile=f"139{{i:08d}}", to_mobile_hash=lookup_hash("mobile", f"139{{i:08d}}"),
                 body=f"崩溃测试 第{{i}}条", purpose="notification") for i in range({MESSAGES})],
    batch_size=2000,
)
"""


def _manage(env, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, start_new_session=True, **kwargs
    )


def test_sender_killed_mid_batch_sends_each_message_exactly_once(tmp_path):
    db = Database(tmp_path)
    web_port = _free_port()
    procs = []
    try:
        with KannelHarness(mo_url=f"http://127.0.0.1:{web_port}/sms/kannel/inbound") as kannel:
            env = {
                **os.environ,
                "MINYI_DATABASE_URL": db.url,
                "MINYI_SMS_BACKEND": "kannel",
                "MINYI_KANNEL_SENDSMS_URL": kannel.sendsms_url,
                "MINYI_KANNEL_USERNAME": kannel.sendsms_username,
                "MINYI_KANNEL_PASSWORD": kannel.sendsms_password,
                "MINYI_SMS_CALLBACK_TOKEN": TOKEN,
                "MINYI_PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
                "MINYI_SMS_CLAIM_LEASE_SECONDS": "2",
                "MINYI_SMS_UNKNOWN_GRACE_SECONDS": "8",
                "MINYI_SMS_SEND_BATCH": "50",
                "MINYI_DEBUG": "false",
                "MINYI_LOG_LEVEL": "WARNING",
                # "accepted by the SMSC" only: the report that resolves unknown outcomes, and
                # half the callbacks for the single development web server to absorb.
                "MINYI_KANNEL_DLR_MASK": "8",
                # runserver starts a thread per request: a persistent connection would outlive
                # its thread until the garbage collector finds it, and Kannel's delivery reports
                # would exhaust PostgreSQL's connections (Django's docs: persistent connections
                # are not for the development server). gunicorn, in production, keeps them.
                "MINYI_DB_CONN_MAX_AGE": "0",
            }
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=180,
            )
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", SEED],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=180,
            )
            web = _manage(
                env,
                "runserver",
                "--noreload",
                f"127.0.0.1:{web_port}",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(web)

            # Given a sender working through the batch, killed without warning again and again
            def start_sender():
                sender = _manage(env, "worker", "--interval", "0.2", stdout=subprocess.DEVNULL)
                procs.append(sender)
                return sender

            rng = random.Random(7)
            for _ in range(KILLS):
                sender = start_sender()
                time.sleep(rng.uniform(1.5, 3.0))
                os.killpg(sender.pid, signal.SIGKILL)
                sender.wait(timeout=10)
            start_sender()

            # When it is left to finish (and to resolve what the killed ones left behind)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                pending = db.query(
                    "SELECT count(*) FROM sms_outboundsms WHERE status NOT IN ('sent', 'delivered')"
                )[0][0]
                if pending == 0:
                    break
                time.sleep(1)
            assert pending == 0, db.query(
                "SELECT status, count(*) FROM sms_outboundsms GROUP BY status"
            )
            time.sleep(2)  # the last messages on their way through bearerbox

            # Then the fake SMSC saw every message, and none twice
            bodies = [m.text for m in kannel.mt_messages()]
            expected = {f"崩溃测试 第{i}条" for i in range(MESSAGES)}
            duplicates = len(bodies) - len(set(bodies))
            assert duplicates == 0
            assert set(bodies) == expected
            resent = db.query("SELECT count(*) FROM sms_outboundsms WHERE attempts > 1")[0][0]
            print(
                f"\ncrash test: {KILLS} kills, {MESSAGES} messages, {resent} sent again "
                f"after the gateway never had them, 0 duplicates"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        db.drop()

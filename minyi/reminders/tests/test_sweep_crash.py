"""Never twice, even when a sweep is killed mid-batch: real sweep processes (reminders_send_due
in `manage.py shell`), two at a time, are killed with SIGKILL again and again while they decide
4,000 reminders; then one is left to finish. Every due item must end with exactly one decision
and exactly one outbox message, and no message without its decision (the outbox's crash test
pattern: integrations/sms/tests/test_sender_crash.py, whose Database helper is reused)."""

import os
import random
import signal
import subprocess
import sys
import time

from minyi.integrations.sms.tests.test_sender_crash import ROOT, Database

ITEMS = 4000
ROUNDS = 3

SEED = f"""
from datetime import timedelta
from django.utils import timezone
from minyi.core.pii import lookup_hash
from minyi.orgs.models import OrgUnit
from minyi.reminders.models import DueItem
from minyi.reminders.tests.factories import make_template
unit = OrgUnit.objects.add_root({{"name": "崩溃测试局", "code": "CR00", "kind": "city_bureau"}})
make_template(leads="30")
due = timezone.localdate() + timedelta(days=10)
DueItem.objects.bulk_create(
    [DueItem(source="crash", external_id=str(i), kind="vehicle_inspection", unit=unit,
             mobile=f"135{{i:08d}}", mobile_hash=lookup_hash("mobile", f"135{{i:08d}}"),
             item_label="浙D·***12", due_date=due) for i in range({ITEMS})],
    batch_size=2000,
)
"""
# Small runs, so that a kill lands inside a batch's transaction more often than between.
SWEEP = """
from minyi.reminders.sending import reminders_send_due
while reminders_send_due(limit=60):
    pass
"""


def _shell(env, code, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        **kwargs,
    )


def _decided(db) -> int:
    return db.query("SELECT count(*) FROM reminders_remindersend")[0][0]


def test_sweeps_killed_mid_batch_decide_each_reminder_once(tmp_path):
    db = Database(tmp_path)
    procs = []
    env = {**os.environ, "MINYI_DATABASE_URL": db.url, "MINYI_DEBUG": "false"}
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        seed = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert seed.returncode == 0, seed.stderr[-2000:]

        # Given two sweeps at once, killed without warning once they are at work, round
        # after round
        rng = random.Random(17)
        decided = 0
        for _ in range(ROUNDS):
            pair = [_shell(env, SWEEP, stdout=subprocess.DEVNULL) for _ in range(2)]
            procs.extend(pair)
            deadline = time.monotonic() + 120
            while _decided(db) == decided and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 0.5))
            for proc in pair:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            decided = _decided(db)
        assert decided > 0

        # When one is left to finish
        last = _shell(env, SWEEP)
        procs.append(last)
        assert last.wait(timeout=300) == 0

        # Then each item has exactly one decision and one message, and no message is orphaned
        assert db.query("SELECT count(*) FROM reminders_remindersend")[0][0] == ITEMS
        assert db.query("SELECT count(DISTINCT item_id) FROM reminders_remindersend")[0][0] == ITEMS
        assert db.query("SELECT count(*) FROM sms_outboundsms")[0][0] == ITEMS
        orphans = db.query(
            "SELECT count(*) FROM sms_outboundsms m WHERE NOT EXISTS "
            "(SELECT 1 FROM reminders_remindersend s WHERE s.message_id = m.id)"
        )[0][0]
        assert orphans == 0
        print(
            f"\nreminder crash test: {ROUNDS}x2 kills, {decided} decided before the last "
            f"sweep, {ITEMS} reminders, 0 duplicates"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        db.drop()

"""Exactly once under SIGKILL, for replies: thousands of stored replies, two real worker
processes (manage.py worker, the inbound_process job only) killed without warning again and
again while they read them; every reply is then read exactly once, each survey answered once,
its history written once, and the rollups equal to a recount.

Like the sender's kill test (minyi/integrations/sms/tests/test_sender_crash.py) it runs in a
database of its own, on the engine the suite runs on.
"""

import os
import random
import signal
import subprocess
import sys
import time

from django.conf import settings

from minyi.integrations.sms.tests.test_sender_crash import ROOT, Database

SURVEYS = 2_000
SECOND_REPLIES = 500  # a second message from the first 500 citizens
KILLS = 4

SEED = f"""
import random
from datetime import timedelta
from django.utils import timezone
from minyi.integrations.sms.services import inbound_receive
from minyi.orgs.tests.factories import make_world
from minyi.perception.models import Survey
from minyi.perception.services.ingest import events_ingest
from minyi.perception.services.surveys import surveys_schedule_pending
from minyi.perception.tests.factories import business_types

world = make_world()
business_types()
now = timezone.now()
items = [
    {{"source": "crash", "external_id": f"C{{i}}", "business_type": ("hukou", "jcj_110")[i % 2],
      "unit": (world.station_a1, world.station_b1)[i % 3 == 0].code, "officers": [],
      "citizen_mobile": f"139{{i:08d}}", "occurred_at": now - timedelta(hours=1)}}
    for i in range({SURVEYS})
]
for start in range(0, len(items), 500):
    events_ingest(items=items[start:start + 500], scope_unit=None)
while surveys_schedule_pending():
    pass
Survey.objects.update(status="sent", sent_at=now, expires_at=now + timedelta(hours=72))
from django.db import transaction
rng = random.Random(11)
texts = ["1", "2", "3", "4 等太久", "5", "满意", "TD", "你好，请问怎么办证"]
with transaction.atomic():
  for i in range({SURVEYS}):
    inbound_receive(gateway="crash", gateway_message_id=f"a{{i}}", sender=f"139{{i:08d}}",
                    text=rng.choice(texts))
  for i in range({SECOND_REPLIES}):
    inbound_receive(gateway="crash", gateway_message_id=f"b{{i}}", sender=f"139{{i:08d}}",
                    text=rng.choice(texts))
"""

JOBS = [name for name in settings.WORKER_SCHEDULE if name != "inbound_process"]


def test_workers_killed_mid_batch_read_each_reply_exactly_once(tmp_path):
    db = Database(tmp_path)
    procs = []
    env = {
        **os.environ,
        "MINYI_DATABASE_URL": db.url,
        "MINYI_INBOUND_BATCH": "100",
        "MINYI_WORKER_SKIP_JOBS": ",".join(JOBS),
        "MINYI_DEBUG": "false",
        "MINYI_LOG_LEVEL": "WARNING",
    }
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True,
            timeout=180,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True,
            timeout=300,
        )  # fmt: skip

        def start_worker():
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--interval", "0.2"],
                cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            procs.append(worker)
            return worker

        def pending():
            return db.query("SELECT count(*) FROM sms_inboundsms WHERE status = 'received'")[0][0]

        # Given two workers reading the backlog, one of them killed without warning again
        # and again, each time while the backlog was being read
        rng = random.Random(7)
        start_worker()
        kills = 0
        for _ in range(KILLS):
            victim = start_worker()
            time.sleep(rng.uniform(1.5, 2.5))
            if pending() == 0:
                break
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
            kills += 1
        assert kills >= 2, "the backlog was read before the workers could be killed"

        # When the survivor is left to finish
        deadline = time.monotonic() + 120
        while pending() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert pending() == 0

        # Then every reply was read once, and every count is a recount
        q = db.query
        inbound = SURVEYS + SECOND_REPLIES
        assert q("SELECT count(*), count(DISTINCT inbound_id) FROM perception_surveyreply") == [
            (inbound, inbound)
        ]
        answered = q("SELECT count(*) FROM perception_survey WHERE status = 'answered'")[0][0]
        assert answered > SURVEYS // 2
        assert q(
            "SELECT count(*), count(DISTINCT survey_id) FROM perception_surveyevent "
            "WHERE to_status = 'answered'"
        ) == [(answered, answered)]
        assert q("SELECT count(*) FROM perception_surveyreply WHERE counted") == [(answered,)]
        recount = dict(
            q(
                "SELECT rating, count(*) FROM perception_survey WHERE status = 'answered' "
                "GROUP BY rating"
            )
        )
        rollup = q(
            "SELECT sum(replies), sum(rating_1), sum(rating_2), sum(rating_3), sum(rating_4), "
            "sum(rating_5) FROM perception_satisfactiondaily"
        )[0]
        assert [int(n or 0) for n in rollup] == [answered] + [
            recount.get(i, 0) for i in range(1, 6)
        ]
        unsatisfied = recount.get(4, 0) + recount.get(5, 0)
        assert q("SELECT count(*) FROM perception_callback WHERE kind = 'first'") == [
            (unsatisfied,)
        ]
        print(f"\nreply crash test: {kills} kills, {inbound} replies, {answered} answered once")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        db.drop()

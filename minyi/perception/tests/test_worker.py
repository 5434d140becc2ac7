"""The perception worker's slower jobs run on their own clocks."""

from minyi.perception.management.commands import perception_worker as worker


def test_periodic_jobs_run_on_their_own_clocks(monkeypatch):
    runs = []
    monkeypatch.setattr(
        worker,
        "PERIODIC",
        {
            "often": (lambda: runs.append("often") or {"often": 1}, 300, True),
            "daily": (lambda: runs.append("daily") or {}, 86400, False),
        },
    )
    monkeypatch.setattr(worker, "_last_run", {})
    # At start the frequent job runs and the daily one waits
    assert worker.run_periodic(now=1000.0) == {"often": 1}
    # Within its period nothing runs again
    assert worker.run_periodic(now=1200.0) == {}
    # After five minutes the frequent one runs again; after a day the daily one too
    worker.run_periodic(now=1300.0)
    worker.run_periodic(now=1000.0 + 86400)
    assert runs == ["often", "often", "often", "daily"]


def test_a_failing_job_does_not_stop_the_others(monkeypatch):
    def broken():
        raise RuntimeError("database away")

    monkeypatch.setattr(
        worker,
        "PERIODIC",
        {"broken": (broken, 60, True), "fine": (lambda: {"fine": 1}, 60, True)},
    )
    monkeypatch.setattr(worker, "_last_run", {})
    assert worker.run_periodic(now=0.0) == {"fine": 1}

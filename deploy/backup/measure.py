"""Measure RTO and RPO of base backup + WAL archiving on a copy of a Minyi database, in a
throwaway cluster (docs/deployment.md, "Backups and restore"; never touches the source).

    measure.py --source "host=127.0.0.1 user=postgres dbname=minyi" --archive-timeout 60

1. The source is copied (pg_dump, pg_restore) into a throwaway cluster with WAL archiving on,
   and a base backup is taken (base_backup.py).
2. RTO: with the copy quiet, its key tables' sums are taken (verify.py); the clock starts, the
   backup is restored with all archived WAL (restore.py), verified against the sums, and the
   clock stops: restored, verified and accepting connections.
3. RPO: a writer commits one row at a time, steadily, and notes what was committed; after a
   while the primary is killed (pg_ctl stop -m immediate: its pg_wal is then treated as lost
   with the machine), the backup is restored from the archive alone, and the committed rows
   missing from it are counted.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from backup_common import pg_bin, run
from base_backup import base_backup
from restore import restore
from throwaway import ThrowawayCluster, free_port
from verify import KEY_TABLES, differences, snapshot


def log(message: str) -> None:
    print(f"[measure] {message}", flush=True)


def copy_database(source: str, cluster: ThrowawayCluster) -> float:
    started = time.monotonic()
    dump = cluster.root / "source.dump"
    subprocess.run(  # noqa: S603
        [str(pg_bin() / "pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", source],
        check=True,
    )
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE minyi")
    subprocess.run(  # noqa: S603
        [str(pg_bin() / "pg_restore"), "--no-owner", "--jobs=2", "--exit-on-error",
         f"--dbname={cluster.dsn('minyi')}", str(dump)],
        check=True,
    )  # fmt: skip
    dump.unlink()
    with psycopg.connect(cluster.dsn("minyi"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def switch_and_wait(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        while (conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
               or "") < segment:  # fmt: skip
            time.sleep(0.2)


def size_mb(path: Path) -> float:
    out = run(["du", "-sm", str(path)], server_user=False)
    return float(out.split()[0])


def measure_rto(cluster: ThrowawayCluster, backup: Path) -> dict:
    expected = snapshot(cluster.dsn("minyi"), list(KEY_TABLES))
    rows = sum(t.get("rows", 0) for t in expected["tables"].values())
    switch_and_wait(cluster.dsn())
    port = free_port()
    datadir = cluster.root / "restored-rto"
    started = time.monotonic()
    stop_line = restore(backup=backup, archive=cluster.archive, datadir=datadir, port=port,
                        target=None, timeout=3600)  # fmt: skip
    up = time.monotonic()
    restored = snapshot(cluster.dsn("minyi", port=port), list(KEY_TABLES))
    problems = differences(expected, restored)
    done = time.monotonic()
    cluster.stop(datadir)
    run(["rm", "-rf", str(datadir)])
    if problems:
        raise SystemExit("verify failed: " + "; ".join(problems))
    return {"restore_s": up - started, "verify_s": done - up, "rto_s": done - started,
            "key_rows": rows, "stop": stop_line}  # fmt: skip


class SteadyWriter(threading.Thread):
    """Commits one probe row at a time at `rate` rows/s until the server goes away."""

    def __init__(self, dsn: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.dsn, self.rate = dsn, rate
        self.committed: list[tuple[int, datetime]] = []

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                for i in range(1, 10**9):
                    at = conn.execute(
                        "INSERT INTO backup_rpo_probe (id) VALUES (%s) RETURNING at", [i]
                    ).fetchone()[0]
                    self.committed.append((i, at))
                    time.sleep(1 / self.rate)
        except psycopg.Error:
            return


def measure_rpo(cluster: ThrowawayCluster, backup: Path, seconds: float, rate: float) -> dict:
    dsn = cluster.dsn("minyi")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE backup_rpo_probe (id bigint PRIMARY KEY, "
                     "at timestamptz NOT NULL DEFAULT clock_timestamp())")  # fmt: skip
    writer = SteadyWriter(dsn, rate)
    writer.start()
    time.sleep(seconds)
    killed_at = datetime.now(UTC)
    cluster.stop(mode="immediate")
    writer.join(timeout=30)
    port = free_port()
    datadir = cluster.root / "restored-rpo"
    restore(backup=backup, archive=cluster.archive, datadir=datadir, port=port, target=None,
            timeout=3600)  # fmt: skip
    with psycopg.connect(cluster.dsn("minyi", port=port)) as conn:
        kept = {r[0] for r in conn.execute("SELECT id FROM backup_rpo_probe").fetchall()}
    cluster.stop(datadir)
    committed = dict(writer.committed)
    missing = sorted(set(committed) - kept)
    last_kept = max((committed[i] for i in kept if i in committed), default=None)
    return {
        "committed": len(committed),
        "missing": len(missing),
        "lost_s": (killed_at - last_kept).total_seconds() if last_kept else None,
        "ran_s": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="libpq string of the database to copy")
    parser.add_argument("--archive-timeout", type=int, default=60, help="seconds [60]")
    parser.add_argument(
        "--rpo-seconds",
        type=float,
        default=None,
        help="write for this long before the kill [1.5–2.5 × archive timeout]",
    )
    parser.add_argument("--rpo-rate", type=float, default=20, help="probe rows/s [20]")
    args = parser.parse_args()
    seconds = args.rpo_seconds or args.archive_timeout * random.uniform(1.5, 2.5)  # noqa: S311
    log(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    cluster = ThrowawayCluster(archive_timeout=args.archive_timeout)
    try:
        cluster.start()
        log(f"copied the source in {copy_database(args.source, cluster):.0f} s")
        started = time.monotonic()
        backup = base_backup(dsn=cluster.dsn(), backups=cluster.backups,
                             archive=cluster.archive, label="measure")  # fmt: skip
        log(f"base backup {size_mb(backup):.0f} MB in {time.monotonic() - started:.0f} s "
            f"(database {size_mb(cluster.datadir):.0f} MB)")  # fmt: skip
        rto = measure_rto(cluster, backup)
        log(f"RTO {rto['rto_s']:.0f} s: restore {rto['restore_s']:.0f} s + verify "
            f"{rto['verify_s']:.0f} s of {rto['key_rows']} key rows ({rto['stop']})")  # fmt: skip
        rpo = measure_rpo(cluster, backup, seconds, args.rpo_rate)
        log(f"RPO archive_timeout={args.archive_timeout}: killed after {rpo['ran_s']:.0f} s, "
            f"{rpo['missing']} of {rpo['committed']} committed rows lost, "
            f"the last {rpo['lost_s']:.1f} s")  # fmt: skip
        print(
            f"backup: RTO {rto['rto_s']:.0f} s ({rto['key_rows']} key rows); RPO "
            f"{rpo['lost_s']:.0f} s lost with archive_timeout {args.archive_timeout} s"
        )
    finally:
        cluster.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

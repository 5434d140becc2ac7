"""Take a base backup of the Minyi PostgreSQL cluster (pg_basebackup) and record which
cluster it is of, for restore.py (docs/deployment.md, "Backups and restore").

    base_backup.py --dsn "host=127.0.0.1 port=5432 user=postgres" \\
        --backups /var/backups/minyi/base --archive /var/backups/minyi/wal

Run it daily (cron) as the postgres user; WAL archiving (postgresql.backup.conf) covers the
time between backups. Each backup is a plain copy of the data directory in
<backups>/base-<UTC time>, with its WAL (-X stream, so it restores on its own), pg_basebackup's
backup_manifest (checked with pg_verifybackup right away) and minyi_backup.json: the cluster's
system identifier and when the backup started and finished.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from backup_common import (
    ARCHIVE_MARKER,
    BACKUP_META,
    BackupError,
    datadir_system_identifier,
    main_guard,
    pg_bin,
    run,
)


def server_facts(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        sysid = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('archive_mode', 'wal_level', 'archive_command', 'server_version')"
            ).fetchall()
        )
    return {"system_identifier": str(sysid), **settings}


def claim_archive(archive: Path, system_identifier: str) -> None:
    """The archive directory belongs to one cluster: mark it, or refuse if it is another's."""
    marker = archive / ARCHIVE_MARKER
    if marker.exists():
        owner = marker.read_text().strip()
        if owner != system_identifier:
            raise BackupError(
                f"refused: WAL archive {archive} belongs to database system {owner}, "
                f"this server is {system_identifier}; give each cluster its own archive"
            )
        return
    marker.write_text(system_identifier + "\n")


def base_backup(*, dsn: str, backups: Path, archive: Path, label: str) -> Path:
    facts = server_facts(dsn)
    if facts["archive_mode"] == "off" or facts["wal_level"] == "minimal":
        raise BackupError(
            "refused: WAL archiving is off on the server (archive_mode=on and "
            "wal_level=replica are needed for a point-in-time restore; see "
            "deploy/backup/postgresql.backup.conf)"
        )
    if str(archive) not in facts["archive_command"]:
        print(
            f"warning: the server's archive_command ({facts['archive_command']!r}) does not "
            f"name {archive}; make sure that is where its segments arrive",
            file=sys.stderr,
        )
    claim_archive(archive, facts["system_identifier"])
    started = datetime.now(UTC)
    target = backups / f"base-{started:%Y%m%dT%H%M%SZ}"
    run(
        [
            str(pg_bin() / "pg_basebackup"),
            f"--dbname={dsn}",
            f"--pgdata={target}",
            "--format=plain",
            "--wal-method=stream",
            "--checkpoint=fast",
            f"--label={label}",
        ]
    )
    finished = datetime.now(UTC)
    backup_sysid = datadir_system_identifier(target)
    if backup_sysid != facts["system_identifier"]:
        raise BackupError(f"{target}: backup is of system {backup_sysid}, server said otherwise")
    meta = {
        "system_identifier": backup_sysid,
        "label": label,
        "server_version": facts["server_version"],
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "archive": str(archive),
    }
    (target / BACKUP_META).write_text(json.dumps(meta, indent=2) + "\n")
    run([str(pg_bin() / "pg_verifybackup"), "--quiet", f"--ignore={BACKUP_META}", str(target)])
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="libpq connection string (a superuser "
                        "or a role with REPLICATION)")  # fmt: skip
    parser.add_argument("--backups", type=Path, required=True, help="directory of base backups")
    parser.add_argument("--archive", type=Path, required=True,
                        help="the WAL archive directory archive_command writes to")  # fmt: skip
    parser.add_argument("--label", default="minyi base backup")
    args = parser.parse_args()
    target = base_backup(dsn=args.dsn, backups=args.backups, archive=args.archive, label=args.label)
    meta = json.loads((target / BACKUP_META).read_text())
    print(f"base backup {target}: system {meta['system_identifier']}, "
          f"{meta['started_at']} .. {meta['finished_at']}, verified")  # fmt: skip
    return 0


if __name__ == "__main__":
    main_guard(main)

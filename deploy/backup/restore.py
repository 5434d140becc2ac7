"""Restore a base backup into a new data directory, replay archived WAL up to a point in time,
and start it on its own port (docs/deployment.md, "Backups and restore").

    restore.py --backup /var/backups/minyi/base/base-20261204T020000Z \\
        --archive /var/backups/minyi/wal --datadir /var/lib/postgresql/15/restored \\
        --port 5433 --target-time "2026-12-04 09:30:00+08"

Without --target-time it replays every archived segment (the latest state the archive holds).
Before copying anything it refuses a backup or archive of another cluster (their system
identifiers differ, or differ from --expect-system-identifier), a target before the backup
finished, and a backup whose files fail pg_verifybackup. The restored server never archives
(archive_mode=off): it must not write into the production archive. Check it with verify.py.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime
from pathlib import Path

import psycopg
from backup_common import (
    ARCHIVE_MARKER,
    BACKUP_META,
    BackupError,
    archived_segments,
    datadir_system_identifier,
    give_to_server_user,
    main_guard,
    pg_bin,
    read_backup_meta,
    run,
    wal_segment_system_identifier,
)

CONFIG_FILES = ("postgresql.conf", "pg_hba.conf", "pg_ident.conf")
# Settings in a copied postgresql.conf that point at the original cluster's files.
FOREIGN_PATHS = re.compile(r"^\s*(data_directory|hba_file|ident_file|external_pid_file)\b")


def check_same_cluster(backup: Path, archive: Path, expected: str | None) -> str:
    """The backup, its metadata, the archive and the operator's expectation name one cluster."""
    meta = read_backup_meta(backup)
    sysid = datadir_system_identifier(backup)
    if meta["system_identifier"] != sysid:
        raise BackupError(
            f"refused: {backup} holds database system {sysid} but its {BACKUP_META} "
            f"says {meta['system_identifier']}"
        )
    if expected and expected != sysid:
        raise BackupError(
            f"refused: {backup} is a backup of database system {sysid}, "
            f"not of the expected {expected}"
        )
    marker = archive / ARCHIVE_MARKER
    if marker.exists() and marker.read_text().strip() != sysid:
        raise BackupError(
            f"refused: WAL archive {archive} belongs to database system "
            f"{marker.read_text().strip()}, the backup {backup} to {sysid}"
        )
    for segment in archived_segments(archive):
        segment_sysid = wal_segment_system_identifier(segment)
        if segment_sysid != sysid:
            raise BackupError(
                f"refused: WAL segment {segment} is from database system {segment_sysid}, "
                f"the backup {backup} from {sysid}: another cluster's backup or archive"
            )
    return sysid


def check_target(backup: Path, target: datetime | None) -> None:
    if target is None:
        return
    if target.tzinfo is None:
        raise BackupError("refused: --target-time needs a time zone, e.g. +08")
    finished = datetime.fromisoformat(read_backup_meta(backup)["finished_at"])
    if target < finished:
        raise BackupError(
            f"refused: target {target.isoformat()} is before the backup finished "
            f"({finished.isoformat()}); restore an older backup"
        )


def copy_config(datadir: Path, config_from: Path | None) -> None:
    """Debian keeps postgresql.conf in /etc: the backup then has none, and one is copied."""
    if (datadir / "postgresql.conf").exists():
        return
    if config_from is None:
        raise BackupError(
            "the backup has no postgresql.conf (the configuration lives outside the data "
            "directory): pass --config-from, e.g. /etc/postgresql/15/main"
        )
    for name in CONFIG_FILES:
        source = config_from / name
        if source.exists():
            lines = source.read_text().splitlines()
            kept = [f"#{line}" if FOREIGN_PATHS.match(line) else line for line in lines]
            (datadir / name).write_text("\n".join(kept) + "\n")


def recovery_settings(*, archive: Path, port: int, target: datetime | None) -> str:
    settings = {
        "port": str(port),
        "archive_mode": "'off'",
        "restore_command": f'\'cp "{archive}/%f" "%p"\'',
        "recovery_target_action": "'promote'",
    }
    if target is not None:
        settings["recovery_target_time"] = f"'{target.isoformat()}'"
    lines = [f"{name} = {value}" for name, value in settings.items()]
    return "\n# restore.py\n" + "\n".join(lines) + "\n"


def wait_promoted(dsn: str, timeout: float) -> None:
    """pg_ctl -w returns once the copy accepts (read-only) connections; the restore is done
    when recovery has reached the target and the server is promoted."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return
        if time.monotonic() > deadline:
            raise BackupError(f"still recovering after {timeout:.0f} s")
        time.sleep(0.2)


def recovery_stop_line(log: Path) -> str:
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if "recovery stopping" in line or "archive recovery complete" in line:
            return line.split(":  ", 1)[-1].strip()
    return ""


def restore(
    *,
    backup: Path,
    archive: Path,
    datadir: Path,
    port: int,
    target: datetime | None,
    host: str = "127.0.0.1",
    user: str = "postgres",
    config_from: Path | None = None,
    expected_sysid: str | None = None,
    timeout: float = 3600,
) -> str:
    sysid = check_same_cluster(backup, archive, expected_sysid)
    check_target(backup, target)
    if datadir.exists() and any(datadir.iterdir()):
        raise BackupError(f"refused: {datadir} exists and is not empty")
    run([str(pg_bin() / "pg_verifybackup"), "--quiet", f"--ignore={BACKUP_META}", str(backup)])
    run(["cp", "-a", f"{backup}/.", str(datadir)])
    for leftover in (BACKUP_META, "backup_manifest"):
        (datadir / leftover).unlink(missing_ok=True)
    copy_config(datadir, config_from)
    with (datadir / "postgresql.auto.conf").open("a") as f:
        f.write(recovery_settings(archive=archive, port=port, target=target))
    (datadir / "recovery.signal").touch()
    give_to_server_user(datadir)
    log = datadir / "restore.log"
    try:
        run(
            [
                str(pg_bin() / "pg_ctl"),
                "start",
                "--wait",
                f"--timeout={int(timeout)}",
                f"--pgdata={datadir}",
                f"--log={log}",
            ]
        )
        wait_promoted(f"host={host} port={port} user={user} dbname=postgres", timeout)
    except BackupError as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:]) if log.exists() else ""
        raise BackupError(f"the restored server did not come up: {exc}\n{tail}") from exc
    return f"system {sysid}; {recovery_stop_line(log)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backup", type=Path, required=True, help="a base-* directory")
    parser.add_argument("--archive", type=Path, required=True, help="the WAL archive directory")
    parser.add_argument("--datadir", type=Path, required=True, help="new, empty data directory")
    parser.add_argument("--port", type=int, required=True, help="port of the restored server")
    parser.add_argument("--target-time", type=datetime.fromisoformat, default=None,
                        help="ISO time with zone; default: all archived WAL")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="where the restored server listens")
    parser.add_argument("--user", default="postgres", help="role to check promotion with")
    parser.add_argument("--config-from", type=Path, default=None,
                        help="directory of postgresql.conf when the backup has none")  # fmt: skip
    parser.add_argument("--expect-system-identifier", default=None,
                        help="refuse a backup of any other cluster (SELECT system_identifier "
                        "FROM pg_control_system() on the primary)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600, help="seconds [3600]")
    args = parser.parse_args()
    started = time.monotonic()
    stopped_at = restore(
        backup=args.backup,
        archive=args.archive,
        datadir=args.datadir,
        port=args.port,
        target=args.target_time,
        host=args.host,
        user=args.user,
        config_from=args.config_from,
        expected_sysid=args.expect_system_identifier,
        timeout=args.timeout,
    )
    print(f"restored {args.backup} into {args.datadir}, accepting connections on port "
          f"{args.port} after {time.monotonic() - started:.1f} s ({stopped_at})")  # fmt: skip
    return 0


if __name__ == "__main__":
    main_guard(main)

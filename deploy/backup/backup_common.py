"""What the backup scripts share: the PostgreSQL binaries, running them as the server's user,
and the database system identifier that ties a base backup and a WAL archive to one cluster.

Every PostgreSQL cluster gets a random 64-bit system identifier at `initdb`; it is in the
control file (`pg_controldata`) and in the header of every WAL segment. A base backup and the
WAL replayed over it must carry the same one, which is how a restore pointed at another
cluster's backup or archive is refused before anything is copied.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

# The metadata file base_backup.py writes beside the data files, and the marker it keeps in the
# WAL archive directory so two clusters never share one archive.
BACKUP_META = "minyi_backup.json"
ARCHIVE_MARKER = "SYSTEM_IDENTIFIER"
WAL_SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")
# XLogLongPageHeaderData: xlp_sysid is the uint64 after the 24-byte short page header.
WAL_SYSID_OFFSET = 24


class BackupError(Exception):
    """A refusal or failure with a message for the operator (printed, exit status 1)."""


def pg_bin() -> Path:
    """The directory of initdb, pg_ctl, pg_basebackup: MINYI_PG_BIN, else the newest
    /usr/lib/postgresql/<version>/bin (Debian's layout), else wherever pg_ctl is on PATH."""
    if os.environ.get("MINYI_PG_BIN"):
        return Path(os.environ["MINYI_PG_BIN"])
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    raise BackupError("PostgreSQL binaries not found: set MINYI_PG_BIN")


def as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root and its files must belong to the server's account:
    when run as root, run the command as MINYI_PG_OS_USER (postgres)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", os.environ.get("MINYI_PG_OS_USER", "postgres"), "--", *argv]


def run(argv: list[str], *, server_user: bool = True, check: bool = True) -> str:
    """Run a command (as the server's user by default); its stdout, or BackupError with its
    stderr when it fails."""
    full = as_server_user(argv) if server_user else argv
    result = subprocess.run(full, capture_output=True, text=True, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {result.stderr.strip()}")
    return result.stdout


def give_to_server_user(path: Path) -> None:
    """Make a directory created by root usable by the server's account."""
    if os.geteuid() == 0:
        user = os.environ.get("MINYI_PG_OS_USER", "postgres")
        run(["chown", "-R", f"{user}:", str(path)], server_user=False)


def datadir_system_identifier(datadir: Path) -> str:
    """The system identifier in a data directory's (or a plain base backup's) control file."""
    out = run([str(pg_bin() / "pg_controldata"), "-D", str(datadir)])
    match = re.search(r"^Database system identifier:\s+(\d+)$", out, re.MULTILINE)
    if not match:
        raise BackupError(f"{datadir}: pg_controldata shows no system identifier")
    return match.group(1)


def wal_segment_system_identifier(segment: Path) -> str:
    """The system identifier in a WAL segment's first page header."""
    with segment.open("rb") as f:
        header = f.read(WAL_SYSID_OFFSET + 8)
    if len(header) < WAL_SYSID_OFFSET + 8:
        raise BackupError(f"{segment}: too short to be a WAL segment")
    return str(struct.unpack_from("<Q", header, WAL_SYSID_OFFSET)[0])


def archived_segments(archive: Path) -> list[Path]:
    return sorted(p for p in archive.iterdir() if WAL_SEGMENT_NAME.match(p.name))


def read_backup_meta(backup: Path) -> dict:
    path = backup / BACKUP_META
    if not path.exists():
        raise BackupError(f"{backup}: no {BACKUP_META}; not a backup made by base_backup.py")
    return json.loads(path.read_text())


def main_guard(main) -> None:
    """Run a script's main(); a BackupError is printed as one clear line and exits 1."""
    try:
        sys.exit(main())
    except BackupError as exc:
        print(f"{Path(sys.argv[0]).name}: {exc}", file=sys.stderr)
        sys.exit(1)

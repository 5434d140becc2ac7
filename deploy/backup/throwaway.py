"""A throwaway PostgreSQL cluster with WAL archiving on, on a free loopback port, for the
restore test, `make backup-check` and the RPO/RTO measurements. Never the shared server."""

from __future__ import annotations

import shutil
import socket
import stat
import tempfile
from pathlib import Path

from backup_common import give_to_server_user, pg_bin, run

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    """root/ holds data/ (the cluster), wal/ (its archive), base/ (its backups) and
    restored-*/ (copies restore.py makes). Everything goes with remove()."""

    def __init__(self, *, archive_timeout: int = 0, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="minyi-backup-", dir="/tmp"))
        self.root.chmod(0o755)
        self.datadir = self.root / "data"
        self.archive = self.root / "wal"
        self.backups = self.root / "base"
        self.port = free_port()
        self.archive.mkdir()
        self.backups.mkdir()
        # The archive script is copied in: the server's account may not read the checkout.
        script = self.root / "archive_wal.sh"
        shutil.copy(HERE / "archive_wal.sh", script)
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        give_to_server_user(self.root)
        run([str(pg_bin() / "initdb"), "--auth=trust", "--username=postgres",
             "--encoding=UTF8", "--no-sync", f"--pgdata={self.datadir}"])  # fmt: skip
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f'\'{script} "%p" "%f" {self.archive}\'',
            "archive_timeout": str(archive_timeout),
            "fsync": "on",
            "shared_buffers": "64MB",
        }
        with (self.datadir / "postgresql.conf").open("a") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in settings.items()))

    def dsn(self, dbname: str = "postgres", port: int | None = None) -> str:
        return f"host=127.0.0.1 port={port or self.port} user=postgres dbname={dbname}"

    def start(self) -> None:
        run([str(pg_bin() / "pg_ctl"), "start", "--wait", f"--pgdata={self.datadir}",
             f"--log={self.root / 'server.log'}"])  # fmt: skip

    def stop(self, datadir: Path | None = None, mode: str = "fast") -> None:
        directory = datadir or self.datadir
        if (directory / "postmaster.pid").exists():
            run([str(pg_bin() / "pg_ctl"), "stop", "--wait", f"--mode={mode}",
                 f"--pgdata={directory}"], check=False)  # fmt: skip

    def remove(self) -> None:
        for pid_file in self.root.glob("*/postmaster.pid"):
            self.stop(pid_file.parent, mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

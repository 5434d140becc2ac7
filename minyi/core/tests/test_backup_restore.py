"""Backups that restore (deploy/backup/, docs/deployment.md "Backups and restore"): a base
backup plus archived WAL restores to a point in time, verify.py proves it table by table and
fails naming a table whose checksum differs, and a restore from another cluster is refused.

Runs on its own throwaway PostgreSQL cluster (initdb on a free loopback port), so on the
SQLite pass as well; it needs the PostgreSQL server binaries (CI has them)."""

import importlib.util
import json
import subprocess
import sys
import time

import psycopg
import pytest
from django.apps import apps
from django.conf import settings

BACKUP_DIR = settings.BASE_DIR / "deploy" / "backup"
sys.path.insert(0, str(BACKUP_DIR))
from throwaway import ThrowawayCluster, free_port  # noqa: E402

TABLES = ["perception_businesstype", "perception_serviceevent", "sms_outboundsms",
          "core_auditevent"]  # fmt: skip
SCHEMA = """
CREATE TABLE perception_businesstype (id bigserial PRIMARY KEY, code text UNIQUE, name text);
CREATE TABLE perception_serviceevent (id bigserial PRIMARY KEY, business_type_id bigint
    REFERENCES perception_businesstype, occurred_at timestamptz, payload jsonb);
CREATE TABLE sms_outboundsms (id bigserial PRIMARY KEY, mobile bytea, body text, status text);
CREATE TABLE core_auditevent (id bigserial PRIMARY KEY, action text, at timestamptz);
-- what a data migration writes
INSERT INTO perception_businesstype (code, name) VALUES ('110', '接处警'), ('hz', '户政');
"""


def write_rows(dsn: str, n: int, tag: str) -> None:
    """n service events, each with an SMS and an audit row, as the services write them."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO perception_serviceevent (business_type_id, occurred_at, payload) "
            "SELECT 1 + i %% 2, now() - i * interval '1 minute', "
            "jsonb_build_object('tag', %s::text, 'i', i) FROM generate_series(1, %s) i",
            [tag, n],
        )
        conn.execute(
            "INSERT INTO sms_outboundsms (mobile, body, status) SELECT "
            "decode(md5(%s || i), 'hex'), '请评价本次服务 ' || i, 'queued' "
            "FROM generate_series(1, %s) i",
            [tag, n],
        )
        conn.execute(
            "INSERT INTO core_auditevent (action, at) SELECT %s, now() FROM generate_series(1, %s)",
            [tag, n],
        )


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BACKUP_DIR / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def wait_archived(dsn: str) -> None:
    """Close the current WAL segment and wait until archive_command has copied it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        for _ in range(300):
            done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            if done and done >= segment:
                return
            time.sleep(0.1)
    raise AssertionError(f"{segment} was not archived")


def backed_up_cluster() -> ThrowawayCluster:
    cluster = ThrowawayCluster()
    try:
        cluster.start()
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE minyi")
        with psycopg.connect(cluster.dsn("minyi")) as conn:
            conn.execute(SCHEMA)
        write_rows(cluster.dsn("minyi"), 300, "before the backup")
        done = script("base_backup.py", "--dsn", cluster.dsn(), "--backups", cluster.backups,
                      "--archive", cluster.archive)  # fmt: skip
        assert done.returncode == 0, done.stderr
    except BaseException:
        cluster.remove()
        raise
    return cluster


@pytest.fixture(scope="module")
def cluster():
    cluster = backed_up_cluster()
    yield cluster
    cluster.remove()


def test_a_restore_to_a_point_in_time_matches_the_source_then(cluster, tmp_path):
    # Given writes after the base backup, the source's sums at time T, and writes after T
    source = cluster.dsn("minyi")
    write_rows(source, 200, "after the backup")
    expected = tmp_path / "sums.json"
    done = script("verify.py", "snapshot", "--dsn", source, "--out", expected,
                  "--tables", *TABLES)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with psycopg.connect(source) as conn:
        target = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    write_rows(source, 100, "after T")
    with psycopg.connect(source) as conn:
        conn.execute("UPDATE sms_outboundsms SET status = 'sent' WHERE id <= 50")
    wait_archived(cluster.dsn())
    (backup,) = cluster.backups.iterdir()

    # When the backup is restored to T on another port
    port = free_port()
    done = script("restore.py", "--backup", backup, "--archive", cluster.archive,
                  "--datadir", cluster.root / "restored-t", "--port", port,
                  "--target-time", target.isoformat(), "--timeout", 120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "accepting connections" in done.stdout
    restored = cluster.dsn("minyi", port=port)

    # Then it holds exactly the rows of T: verify passes, and the source has moved on
    done = script("verify.py", "compare", "--expected", expected, "--restored", restored,
                  "--tables", *TABLES)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 tables, 1502 rows: counts and checksums match" in done.stdout
    with psycopg.connect(restored) as conn:
        assert conn.execute("SELECT count(*) FROM perception_serviceevent").fetchone()[0] == 500
        sent = conn.execute("SELECT count(*) FROM sms_outboundsms WHERE status = 'sent'")
        assert sent.fetchone()[0] == 0

    # When one row of the restored copy is changed, verify fails naming that table
    with psycopg.connect(restored) as conn:
        conn.execute("UPDATE sms_outboundsms SET body = body || '.' WHERE id = 7")
    done = script("verify.py", "compare", "--expected", expected, "--restored", restored,
                  "--tables", *TABLES)  # fmt: skip
    assert done.returncode == 1
    assert "sms_outboundsms: checksum differs (500 rows in the source, 500 restored" in done.stderr
    assert "first difference in id 0–9999" in done.stderr
    assert "perception_serviceevent" not in done.stderr
    cluster.stop(cluster.root / "restored-t")


def test_a_restore_from_another_clusters_backup_is_refused(cluster):
    # Given a second cluster with its own backup
    other = backed_up_cluster()
    try:
        (other_backup,) = other.backups.iterdir()
        with psycopg.connect(cluster.dsn()) as conn:
            own = conn.execute("SELECT system_identifier FROM pg_control_system()")
            own_id = own.fetchone()[0]

        # When its backup is restored over the first cluster's WAL archive: refused
        done = script("restore.py", "--backup", other_backup, "--archive", cluster.archive,
                      "--datadir", other.root / "restored-x", "--port", 1)  # fmt: skip
        assert done.returncode == 1
        assert "refused: WAL archive" in done.stderr
        assert not (other.root / "restored-x").exists()

        # and with its own archive but the first cluster's identifier expected: refused
        done = script("restore.py", "--backup", other_backup, "--archive", other.archive,
                      "--datadir", other.root / "restored-x", "--port", 1,
                      "--expect-system-identifier", own_id)  # fmt: skip
        assert done.returncode == 1
        assert f"not of the expected {own_id}" in done.stderr
        assert not (other.root / "restored-x").exists()

        # and with the first cluster's identifier written into its minyi_backup.json: refused
        meta_file = other_backup / "minyi_backup.json"
        meta = json.loads(meta_file.read_text())
        meta_file.write_text(json.dumps({**meta, "system_identifier": str(own_id)}))
        done = script("restore.py", "--backup", other_backup, "--archive", cluster.archive,
                      "--datadir", other.root / "restored-x", "--port", 1)  # fmt: skip
        assert done.returncode == 1
        assert f"but its minyi_backup.json says {own_id}" in done.stderr
        assert not (other.root / "restored-x").exists()

        # and a base backup of it into the first cluster's archive is refused too
        done = script("base_backup.py", "--dsn", other.dsn(), "--backups", other.backups,
                      "--archive", cluster.archive)  # fmt: skip
        assert done.returncode == 1
        assert "belongs to database system" in done.stderr
    finally:
        other.remove()


def test_a_target_before_the_backup_finished_is_refused(cluster, tmp_path):
    (backup,) = cluster.backups.iterdir()
    done = script("restore.py", "--backup", backup, "--archive", cluster.archive,
                  "--datadir", tmp_path / "restored", "--port", 1,
                  "--target-time", "2020-01-01T00:00:00+08:00")  # fmt: skip
    assert done.returncode == 1
    assert "is before the backup finished" in done.stderr


def test_the_key_tables_are_those_of_real_models():
    spec = importlib.util.spec_from_file_location("minyi_backup_verify", BACKUP_DIR / "verify.py")
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)
    model_tables = {model._meta.db_table for model in apps.get_models()}
    assert set(verify.KEY_TABLES) <= model_tables
    assert set(TABLES) <= model_tables

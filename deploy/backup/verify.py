"""Prove a restore: row counts and checksums of Minyi's key tables, source against restored copy
(docs/deployment.md, "Backups and restore").

    verify.py snapshot --dsn "host=… dbname=minyi" --out sums.json   # the source, at time T
    verify.py compare --expected sums.json --restored "host=… port=5433 dbname=minyi"
    verify.py compare --source "…" --restored "…"                    # both live (a quiet source)

A table's checksum is the md5 of its rows in primary-key order, each row as PostgreSQL's text
form of the whole row (every column, ciphertext included), computed in chunks of 10,000 ids so
a difference is reported with the id range it is in. All tables of one side are read in one
REPEATABLE READ transaction, so they are of one instant. Exit status 1, naming each table that
differs, when any count or checksum differs or a table is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from backup_common import BackupError, main_guard
from psycopg import sql

# Service events, surveys and their answers, SMS out and in, callbacks, work orders, citizens'
# opinions, the audit log, and the events of each lifecycle (minyi.core.tests checks these are
# the tables of real models).
KEY_TABLES = (
    "perception_serviceevent",
    "perception_survey",
    "perception_surveyevent",
    "perception_surveyreply",
    "sms_outboundsms",
    "sms_inboundsms",
    "perception_callback",
    "perception_callbackevent",
    "workorders_workorder",
    "workorders_workorderevent",
    "opinions_opinion",
    "opinions_opinionevent",
    "core_auditevent",
)
CHUNK = 10_000
INTEGER_TYPES = {"int2", "int4", "int8"}


def primary_key(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(column, type) of the table's primary key, in key order."""
    return conn.execute(
        "SELECT a.attname, t.typname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)",
        [table],
    ).fetchall()


def table_sums(conn: psycopg.Connection, table: str) -> dict:
    """{"rows": n, "md5": …, "chunked_by": key, "chunks": {chunk: [rows, md5]}}, or
    {"missing": True}."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
    if not exists:
        return {"missing": True}
    key = primary_key(conn, table)
    order = sql.SQL(", ").join(sql.Identifier(column) for column, _ in key) if key else None
    row_text = sql.SQL("t::text")
    chunked_by = key[0][0] if len(key) == 1 and key[0][1] in INTEGER_TYPES else None
    chunk = sql.SQL("0")
    if chunked_by:
        chunk = sql.SQL("{} / {}").format(sql.Identifier(chunked_by), sql.Literal(CHUNK))
    query = sql.SQL(
        "SELECT {chunk} AS chunk, count(*), md5(string_agg(md5({row}), '' ORDER BY {order})) "
        "FROM {table} AS t GROUP BY 1 ORDER BY 1"
    ).format(chunk=chunk, row=row_text, order=order or row_text, table=sql.Identifier(table))
    chunks = {str(c): [n, digest] for c, n, digest in conn.execute(query).fetchall()}
    whole = hashlib.md5(usedforsecurity=False)
    for c, (n, digest) in chunks.items():
        whole.update(f"{c}:{n}:{digest};".encode())
    rows = sum(n for n, _ in chunks.values())
    return {"rows": rows, "md5": whole.hexdigest(), "chunked_by": chunked_by, "chunks": chunks}


def snapshot(dsn: str, tables: list[str]) -> dict:
    """Every table's sums, read in one transaction (one instant of the database)."""
    with psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        taken = conn.execute("SELECT now()").fetchone()[0]
        sums = {table: table_sums(conn, table) for table in tables}
        conn.rollback()
    return {"taken_at": taken.astimezone(UTC).isoformat(), "tables": sums}


def differences(expected: dict, restored: dict) -> list[str]:
    """One line per table whose restored copy is not the expected one."""
    problems = []
    for table, want in expected["tables"].items():
        got = restored["tables"].get(table, {"missing": True})
        if want.get("missing"):
            problems.append(f"{table}: missing in the source")
        elif got.get("missing"):
            problems.append(f"{table}: missing in the restored copy")
        elif got["md5"] != want["md5"]:
            chunks = set(want["chunks"]) | set(got["chunks"])
            bad = sorted(
                (c for c in chunks if want["chunks"].get(c) != got["chunks"].get(c)), key=int
            )
            where = "the whole table"
            if want.get("chunked_by") and bad:
                low = int(bad[0]) * CHUNK
                where = f"{want['chunked_by']} {low}–{low + CHUNK - 1}"
            problems.append(
                f"{table}: checksum differs ({want['rows']} rows in the source, "
                f"{got['rows']} restored; first difference in {where})"
            )
    return problems


def report(expected: dict, restored: dict) -> int:
    problems = differences(expected, restored)
    for table, want in expected["tables"].items():
        got = restored["tables"].get(table, {})
        same = not any(p.startswith(f"{table}:") for p in problems)
        print(f"{table:32} {want.get('rows', '-'):>10} {got.get('rows', '-'):>10}  "
              f"{'ok' if same else 'DIFFERS'}")  # fmt: skip
    if problems:
        print("verify: the restored copy differs from the source:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"verify: {len(expected['tables'])} tables, "
          f"{sum(t['rows'] for t in expected['tables'].values())} rows: "
          "counts and checksums match")  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="write the source's sums to a file")
    snap.add_argument("--dsn", required=True)
    snap.add_argument("--out", type=Path, required=True)
    compare = commands.add_parser("compare", help="compare a restored copy with the source")
    source = compare.add_mutually_exclusive_group(required=True)
    source.add_argument("--expected", type=Path, help="a snapshot file")
    source.add_argument("--source", help="libpq string of the (quiet) source")
    compare.add_argument("--restored", required=True, help="libpq string of the restored copy")
    for sub in (snap, compare):
        sub.add_argument("--tables", nargs="+", default=list(KEY_TABLES))
    args = parser.parse_args()
    if args.command == "snapshot":
        sums = snapshot(args.dsn, args.tables)
        if any(t.get("missing") for t in sums["tables"].values()):
            missing = [name for name, t in sums["tables"].items() if t.get("missing")]
            raise BackupError(f"the source has no table {', '.join(missing)}")
        args.out.write_text(json.dumps(sums, indent=1) + "\n")
        print(f"snapshot of {len(args.tables)} tables at {sums['taken_at']} in {args.out}")
        return 0
    expected = json.loads(args.expected.read_text()) if args.expected else None
    if expected is not None:
        expected["tables"] = {
            t: expected["tables"][t] for t in args.tables if t in expected["tables"]
        }
    else:
        expected = snapshot(args.source, args.tables)
    started = datetime.now(UTC)
    restored = snapshot(args.restored, list(expected["tables"]))
    status = report(expected, restored)
    print(
        f"verify: read the restored copy in {(datetime.now(UTC) - started).total_seconds():.1f} s"
    )
    return status


if __name__ == "__main__":
    main_guard(main)

"""Dashboard benchmark: the ranking, trend and drill-down pages over ten million replies vs. the
same figures computed from the raw rows.

Run from the repository root: `.venv/bin/python bench/dashboard.py` (or `make bench-dashboard`);
`--quick` for a tenth (1,000,000 replies, kept apart in minyi_bench_dashboard_tenth).

1. Creates a PostgreSQL database on 127.0.0.1:5432 (user postgres), migrates it, builds the
   demo city, then writes two years of contacts straight into the real tables with
   `INSERT … SELECT … generate_series` (no Python per row): service events with their
   officers, surveys (N answered, some expired), first callbacks for the unsatisfied, work
   orders for the at-fault ones, appeals, and their history rows. Secondary indexes are
   dropped during the load and rebuilt after it. The rollups are then built from those rows:
   `SatisfactionDaily` with one `INSERT … SELECT … GROUP BY` (the numbers the incremental
   rollup keeps), 跑多次 with one window function, and the rest of the dashboards' rollups by
   the dashboards' nightly refresh service (`--quick` checks the 跑多次 SQL against the
   service).
2. Runs Django in-process against it and requests the dashboard of a bureau (its ranking),
   the dashboard of a station (its trend) and drill-down pages (at the middle of their list;
   answers by the keyset cursor the page before would have linked to)
   with the test client as a city-level and a district-level supervisor, with varied periods
   and units, after a warm-up.
3. Baseline, same run: the same figures computed from the raw rows (surveys joined to their
   contacts, grouped) and the drill-downs' own SQL, with psycopg.
4. Prints a table (and, for kinds whose p95 is over 200 ms, the EXPLAIN ANALYZE of their
   slowest statement on stderr) and, last, one summary line:
   `dashboard: p50 <a> ms; p95 <b> ms; raw p95 <c> ms; ratio <b/c>`.

The run is bounded (--timeout) and drops the database at the end, on errors and Ctrl-C too,
unless --keep; --reuse skips the build when a kept database with the same parameters exists.
"""

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import common
import psycopg
from psycopg import sql

KEPT_DB = "minyi_bench_dashboard"
META_TABLE = "bench_dashboard_meta"
SOURCE = "bench"  # ServiceEvent.source of every generated contact
SECRETS = ("MINYI_SECRET_KEY", "MINYI_PII_ENCRYPTION_KEYS", "MINYI_PII_HASH_KEY")
FULL_REPLIES = 10_000_000
QUICK_REPLIES = FULL_REPLIES // 10  # --quick: a tenth of the contacts of the full run

# --- The shape of the data -------------------------------------------------------------------

# Per kind of unit: (business type, relative weight per officer). Sensitive types are here so
# that some contacts are, rightly, never surveyed.
MIX = {
    "police_station": (
        ("emergency_call_110", 30),
        ("help_request", 8),
        ("dispute_mediation", 8),
        ("hukou_registration", 12),
        ("id_card", 12),
        ("public_order_case", 5),
        ("police_complaint", 0.5),
        ("domestic_violence", 1),
        ("detention_arrest", 0.5),
    ),
    "traffic_brigade": (
        ("traffic_accident", 10),
        ("traffic_violation", 15),
        ("driving_licence", 6),
        ("vehicle_registration", 5),
    ),
    "criminal_brigade": (
        ("crime_scene_investigation", 5),
        ("criminal_suspect", 1),
        ("sexual_offence", 0.3),
        ("death_handling", 0.3),
    ),
    "special_unit": (("exit_entry_permit", 20),),
}
# Share of answers rated 4–5, by business type, before the unit's own factor: window services
# rarely disappoint, enforcement contacts (tickets, cases) and complaints often do.
UNSATISFIED = {
    "hukou_registration": 0.010,
    "id_card": 0.010,
    "exit_entry_permit": 0.008,
    "driving_licence": 0.015,
    "vehicle_registration": 0.015,
    "emergency_call_110": 0.022,
    "help_request": 0.020,
    "dispute_mediation": 0.036,
    "crime_scene_investigation": 0.032,
    "traffic_accident": 0.032,
    "traffic_violation": 0.065,
    "public_order_case": 0.072,
    "police_complaint": 0.100,
}
NO_MOBILE = 0.06  # contacts without a usable mobile
COOL_OFF = 0.03  # not asked: the same citizen was asked recently
REPLY_RATE = 0.85  # of surveys sent; the rest expire unanswered (see bench/README.md)
CITIZENS_PER_CONTACT = 0.6  # repeat customers: fewer mobiles than contacts
CALLBACK_OPEN_DAYS = 2  # first callbacks younger than this are still in the queue
ORDER_OPEN_DAYS = 10  # work orders dispatched more recently are still being rectified
# Of the unsatisfied citizens reached; at fault first (the SQL relies on it).
ATTRIBUTIONS = (
    ("at_fault", 0.28), ("explained", 0.42), ("unreasonable", 0.15), ("outside_duty", 0.15),
)  # fmt: skip
REASON_TAGS = (
    ("attitude", 24), ("efficiency", 18), ("multiple_trips", 10), ("outcome", 16),
    ("response_speed", 12), ("conduct", 6), ("explanation", 8), ("facilities", 3),
    ("integrity", 1), ("other", 2),
)  # fmt: skip


@dataclass
class Cell:
    """One (unit, business type) pair contacts are drawn from."""

    unit_id: int
    business_type_id: int
    weight: float
    sensitive: bool
    p_unsatisfied: float
    centre_id: int
    officer_ids: list[int]


@dataclass
class Plan:
    replies: int
    days: int
    seed: int
    last_day: date  # the newest day with contacts (yesterday at build time)
    cells: list[Cell] = field(default_factory=list)

    @property
    def answered_share(self) -> float:
        """Expected answered surveys per contact, so that N contacts give ≈ `replies`."""
        total = sum(c.weight for c in self.cells)
        surveyable = sum(c.weight for c in self.cells if not c.sensitive) / total
        return surveyable * (1 - NO_MOBILE) * (1 - COOL_OFF) * REPLY_RATE

    @property
    def events(self) -> int:
        return math.ceil(self.replies / self.answered_share)


def plan_cells(seed: int) -> list[Cell]:
    """The demo city's stations and brigades × the business types they handle, weighted by
    the unit's size, each with its satisfaction: most units at 0.96–0.99 for window services,
    two weak stations and a weak traffic brigade, three strong stations."""
    from minyi.callbacks.services import perception_centre_for
    from minyi.orgs.models import Officer, OrgUnit
    from minyi.perception.models import BusinessType

    rng = random.Random(f"{seed}:cells")  # noqa: S311 - synthetic data, deterministic
    types = {t.code: t for t in BusinessType.objects.all()}
    units = list(OrgUnit.objects.filter(kind__in=MIX).order_by("path"))
    staff: dict[int, list[int]] = {}
    for officer_id, unit_id in Officer.objects.values_list("id", "unit_id").order_by("id"):
        staff.setdefault(unit_id, []).append(officer_id)
    stations = [u for u in units if u.kind == "police_station"]
    brigades = [u for u in units if u.kind == "traffic_brigade"]
    factor = {u.id: math.exp(rng.gauss(0, 0.3)) for u in units}
    for unit in rng.sample(stations, 2) + rng.sample(brigades, 1):
        factor[unit.id] = rng.uniform(2.5, 3.5)
    for unit in rng.sample(stations, 3):
        factor[unit.id] = rng.uniform(0.4, 0.6)
    centres: dict[tuple[int, str], int] = {}
    cells = []
    for unit in units:
        officers = staff.get(unit.id, [])
        for code, weight in MIX[unit.kind]:
            btype = types[code]
            key = (unit.id, btype.callback_tier)
            if key not in centres:
                centres[key] = perception_centre_for(unit, btype.callback_tier).id
            cells.append(
                Cell(
                    unit_id=unit.id,
                    business_type_id=btype.id,
                    weight=weight * max(len(officers), 1),
                    sensitive=btype.is_sensitive,
                    p_unsatisfied=min(0.4, UNSATISFIED.get(code, 0.03) * factor[unit.id]),
                    centre_id=centres[key],
                    officer_ids=officers,
                )
            )
    return cells


# --- Database ----------------------------------------------------------------------------------


def dsn(db_name: str) -> dict:
    return {"host": common.PG_HOST, "port": common.PG_PORT, "user": common.PG_USER,
            "dbname": db_name}  # fmt: skip


def database_exists(db_name: str) -> bool:
    with common.admin_connection() as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
        )


def drop_database(db_name: str) -> None:
    with common.admin_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
        )
    common.log(f"dropped {db_name}")


def create_database(db_name: str) -> None:
    with common.admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))


def read_meta(db_name: str) -> dict[str, str]:
    """What a kept database says about itself: its secrets and build parameters; {} if the
    build never finished."""
    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (META_TABLE,)).fetchone()[0]
        if not exists:
            return {}
        meta = dict(conn.execute(sql.SQL("SELECT key, value FROM {}").format(
            sql.Identifier(META_TABLE))).fetchall())  # fmt: skip
    return meta if meta.get("complete") == "1" else {}


def write_meta(conn: psycopg.Connection, values: dict[str, str]) -> None:
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text NOT NULL)").format(
            sql.Identifier(META_TABLE)
        )
    )
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {} VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                "EXCLUDED.value"
            ).format(sql.Identifier(META_TABLE)),
            list(values.items()),
        )


def migrate_and_build_city(scale: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from minyi.demo.city import build_demo_city, demo_city_exists

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    common.log(f"migrated in {time.perf_counter() - started:.1f} s")
    if not demo_city_exists():
        city = build_demo_city(scale=scale)
        common.log(f"demo city (scale {scale}): {city.units} units, {city.officers} officers")


@contextlib.contextmanager
def secondary_indexes_dropped(conn: psycopg.Connection, tables: list[str]):
    """Drop every index but the primary key (unique constraints included) of `tables`, and
    rebuild them all on the way out: one sort per index instead of ten million random
    B-tree inserts. The definitions come from the catalogue, so the rebuilt schema is the
    migrations' own."""
    saved = []
    for table in tables:
        saved += conn.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname,
                   pg_get_constraintdef(con.oid), %s
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            LEFT JOIN pg_constraint con
              ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
            WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
            ORDER BY c.relname
            """,
            (table, table),
        ).fetchall()
    for name, _definition, constraint, _condef, table in saved:
        if constraint:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(constraint)
                )
            )
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    started = time.perf_counter()
    for _name, definition, constraint, condef, table in saved:
        if constraint:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table), sql.Identifier(constraint)
                )
                + sql.SQL(condef)  # from pg_get_constraintdef
            )
        else:
            conn.execute(sql.SQL(definition))  # from pg_get_indexdef
    common.log(f"  rebuilt {len(saved)} indexes in {time.perf_counter() - started:.0f} s")


# --- Build -------------------------------------------------------------------------------------


def _table(model) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def _cum(weights: list[float]) -> list[float]:
    """Lower bounds for width_bucket(random(), bounds): bucket k (1-based) comes up in
    proportion to weights[k - 1]."""
    total, bounds, acc = sum(weights), [], 0.0
    for w in weights:
        bounds.append(acc / total)
        acc += w
    return bounds


def build(db_name: str, plan: Plan) -> dict[str, float]:
    """Write the contacts and everything that follows from them; returns seconds per step."""
    from django.conf import settings

    from minyi.callbacks.models import Callback, CallbackEvent
    from minyi.core.pii import encrypt
    from minyi.orgs.models import User
    from minyi.perception.models import SatisfactionDaily, ServiceEvent, Survey
    from minyi.workorders.models import Appeal, WorkOrder, WorkOrderEvent

    steps: dict[str, float] = {}
    tz = settings.TIME_ZONE
    end_at = datetime.combine(plan.last_day + timedelta(days=1), datetime.min.time())
    cells = plan.cells
    evaluators = list(User.objects.filter(role="evaluator").values_list("id", flat=True))
    supervisor = User.objects.get(username="city_supervisor").id
    leader = User.objects.get(username="city_leader").id
    officers_flat, officer_start, officer_count = [], [], []
    for cell in cells:
        officer_start.append(len(officers_flat) + 1)
        officer_count.append(len(cell.officer_ids))
        officers_flat += cell.officer_ids
    tag_pool = [tag for tag, weight in REASON_TAGS for _ in range(weight)]
    attribution_bounds = _cum([share for _name, share in ATTRIBUTIONS])
    params = {
        "tz": tz,
        "seed_value": (plan.seed % 2000) / 1000 - 1,  # setseed takes -1..1
        "days": plan.days,
        "last_day": plan.last_day,
        "end_at": end_at,
        "cum": _cum([c.weight for c in cells]),
        "unit": [c.unit_id for c in cells],
        "bt": [c.business_type_id for c in cells],
        "sensitive": [c.sensitive for c in cells],
        "no_mobile": NO_MOBILE,
        "cool_off": COOL_OFF,
        "reply_rate": REPLY_RATE,
        "citizens": max(1, int(plan.events * CITIZENS_PER_CONTACT)),
        # One real ciphertext of a synthetic number and of a comment, made with this run's
        # key, so that pages that decrypt them work; stored on every row.
        "mobile": encrypt("13800000000"),
        "comment": encrypt("民警态度不好，来回跑了三趟"),
        "reason": encrypt("群众反映办理时间长，多次往返"),
        "problem": encrypt("窗口办理效率低，群众多次往返"),
        # Staff free text is encrypted too (feedback, appeals, history notes).
        "feedback": encrypt("已约谈当事民警并完成整改"),
        "appeal_reason": encrypt("该群众反映情况与执法记录仪记录不符"),
        "upheld_note": encrypt("经核查执法记录，申诉成立"),
        "rejected_note": encrypt("证据不足，维持原认定"),
        "callback_note": encrypt("不满意评价"),
        "dispatch_note": encrypt("民警责任，派发整改"),
        "source": SOURCE,
        "tags": tag_pool,
        "attr_bounds": attribution_bounds,
        "attrs": [name for name, _share in ATTRIBUTIONS],
        "evaluators": evaluators,
        "officers": officers_flat or [None],
        "off_start": officer_start,
        "off_count": officer_count,
        "callback_open_days": CALLBACK_OPEN_DAYS,
        "order_open_days": ORDER_OPEN_DAYS,
        "supervisor": supervisor,
        "leader": leader,
    }
    event_t, survey_t, callback_t = _table(ServiceEvent), _table(Survey), _table(Callback)
    order_t, appeal_t = _table(WorkOrder), _table(Appeal)

    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        # The rows are consistent by construction: skip the per-row foreign-key triggers
        # (superuser only, this session only). Hash joins keep generation order.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '1GB'")
        conn.execute("SET enable_mergejoin = off")
        conn.execute("SET enable_nestloop = off")
        conn.execute("SET jit = off")
        conn.execute("SELECT setseed(%(seed_value)s)", params)
        conn.execute(
            "CREATE TEMP TABLE bench_cell (k int PRIMARY KEY, unit_id bigint, "
            "business_type_id bigint, p_unsat float8, centre_id bigint, off_start int, "
            "off_count int)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO bench_cell VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (k, c.unit_id, c.business_type_id, c.p_unsatisfied, c.centre_id,
                     officer_start[k - 1], officer_count[k - 1])
                    for k, c in enumerate(cells, start=1)
                ],
            )  # fmt: skip
        conn.execute("CREATE UNIQUE INDEX ON bench_cell (unit_id, business_type_id)")
        conn.execute("ANALYZE bench_cell")

        started = time.perf_counter()
        links = ServiceEvent.officers.through._meta.db_table
        with secondary_indexes_dropped(
            conn,
            [ServiceEvent._meta.db_table, links, Survey._meta.db_table, Callback._meta.db_table],
        ):
            steps["drop indexes"] = time.perf_counter() - started
            _insert_events(conn, plan, params, event_t, steps)
            _insert_officer_links(conn, plan, params, event_t, sql.Identifier(links), steps)
            _insert_surveys(conn, plan, params, event_t, survey_t, steps)
            _insert_callbacks_and_orders(conn, params, survey_t, callback_t, order_t, appeal_t,
                                         steps)  # fmt: skip
            started = time.perf_counter()
        steps["rebuild indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        for model in (ServiceEvent, ServiceEvent.officers.through, Survey, Callback, WorkOrder):
            conn.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {}").format(
                    _table(model)
                ),
                (model._meta.db_table,),
            )
        for model in (CallbackEvent, WorkOrderEvent, Appeal):
            conn.execute(sql.SQL("ANALYZE {}").format(_table(model)))
        # Visibility map, hint bits and statistics now, so that neither the measurements pay
        # for them nor autovacuum runs during them.
        for model in (ServiceEvent, ServiceEvent.officers.through, Survey, Callback, WorkOrder):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(_table(model)))
        steps["vacuum and analyze"] = time.perf_counter() - started
        common.log(f"  vacuum and analyze: {steps['vacuum and analyze']:.0f} s")

        started = time.perf_counter()
        build_satisfaction_daily(conn, tz, event_t, survey_t, _table(SatisfactionDaily))
        steps["SatisfactionDaily rollup"] = time.perf_counter() - started
        common.log(f"  SatisfactionDaily rollup: {steps['SatisfactionDaily rollup']:.0f} s")
    return steps


def _chunks(total: int, size: int):
    for first in range(1, total + 1, size):
        yield first, min(total, first + size - 1)


def _insert_events(conn, plan: Plan, params: dict, event_t, steps) -> None:
    """Contacts spread over the cells by weight and over the days evenly; mostly by day, a
    tenth at night. Each carries one (real) ciphertext and a synthetic hash of a citizen
    from a pool smaller than the contacts, so citizens come back."""
    statement = sql.SQL(
        """
        INSERT INTO {event} (id, source, external_id, business_type_id, unit_id,
            citizen_mobile, citizen_mobile_hash, occurred_at, received_at, survey_decision)
        SELECT g, %(source)s, 'D' || g, (%(bt)s::bigint[])[k], (%(unit)s::bigint[])[k],
            CASE WHEN has_mobile THEN %(mobile)s ELSE '' END,
            CASE WHEN has_mobile THEN md5('m' || c) || md5('n' || c) ELSE '' END,
            at, at + interval '3 minutes',
            CASE WHEN (%(sensitive)s::bool[])[k] THEN 'sensitive'
                 WHEN NOT has_mobile THEN 'no_mobile'
                 WHEN r_decision < %(cool_off)s THEN 'cool_off'
                 ELSE 'scheduled' END
        FROM (
            SELECT g, k, c, r_decision, r_mobile >= %(no_mobile)s AS has_mobile,
                ((%(last_day)s::date - d) + make_interval(secs => secs)) AT TIME ZONE %(tz)s
                    AS at
            FROM (
                SELECT g, width_bucket(random(), %(cum)s::float8[]) AS k,
                    floor(random() * %(citizens)s)::bigint AS c,
                    random() AS r_mobile, random() AS r_decision,
                    floor(random() * %(days)s)::int AS d,
                    CASE WHEN random() < 0.1 THEN random() * 86400
                         ELSE 28800 + random() * 46800 END AS secs
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
            ) AS draws
        ) AS contact
        """
    ).format(event=event_t)
    started = time.perf_counter()
    for first, last in _chunks(plan.events, 2_000_000):
        conn.execute(statement, {**params, "first": first, "last": last})
        common.log(f"  events: {last:,} of {plan.events:,} ({time.perf_counter() - started:.0f} s)")
    steps["service events"] = time.perf_counter() - started


def _insert_officer_links(conn, plan: Plan, params: dict, event_t, links_t, steps) -> None:
    """One officer of the unit on each contact, a second one on two in five."""
    statement = sql.SQL(
        """
        INSERT INTO {links} (serviceevent_id, officer_id)
        SELECT id, (%(officers)s::bigint[])[off_start + (first + j) %% off_count]
        FROM (
            SELECT e.id, c.off_start, c.off_count, random() < 0.4 AS two,
                floor(random() * c.off_count)::int AS first
            FROM {event} e
            JOIN bench_cell c USING (unit_id, business_type_id)
            WHERE c.off_count > 0 AND e.id BETWEEN %(first)s AND %(last)s
        ) AS contact
        CROSS JOIN LATERAL (VALUES (0), (1)) AS officer (j)
        WHERE j = 0 OR (two AND off_count > 1)
        """
    ).format(links=links_t, event=event_t)
    started = time.perf_counter()
    for first, last in _chunks(plan.events, 2_000_000):
        conn.execute(statement, {**params, "first": first, "last": last})
        common.log(
            f"  officer links: events up to {last:,} of {plan.events:,} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    steps["officer links"] = time.perf_counter() - started


def _insert_surveys(conn, plan: Plan, params: dict, event_t, survey_t, steps) -> None:
    """One survey per contact that was to be asked, sent 30 minutes after it; most answered
    within two hours, some after the reminder, the rest expired. The rating follows the
    cell's dissatisfaction, a little worse two years ago than now."""
    statement = sql.SQL(
        """
        INSERT INTO {survey} (id, event_id, mobile_hash, unit_id, business_type_id, contact_at,
            token, status, created_at, send_at, sent_at, expires_at, reminder_due_at, reminded_at,
            rating, comment, answered_at, answered_via, excluded_at)
        SELECT id, id, citizen_mobile_hash, unit_id, business_type_id, occurred_at,
            md5('t' || id),
            CASE WHEN answered THEN 'answered' ELSE 'expired' END,
            sent, sent, sent, sent + interval '72 hours', sent + interval '24 hours',
            CASE WHEN NOT answered OR delay > 86400 THEN sent + interval '24 hours' END,
            CASE WHEN NOT answered THEN NULL
                 WHEN r_sat < p THEN CASE WHEN r_level < 0.65 THEN 4 ELSE 5 END
                 WHEN r_level < 0.62 THEN 1 WHEN r_level < 0.92 THEN 2 ELSE 3 END,
            CASE WHEN answered AND r_sat < p AND r_comment < 0.4 THEN %(comment)s
                 WHEN answered AND r_comment < 0.02 THEN %(comment)s ELSE '' END,
            CASE WHEN answered THEN sent + make_interval(secs => delay) END,
            CASE WHEN NOT answered THEN '' WHEN r_comment < 0.75 THEN 'sms' ELSE 'h5' END,
            NULL
        FROM (
            SELECT e.id, e.citizen_mobile_hash, e.unit_id, e.business_type_id, e.occurred_at,
                e.occurred_at + interval '30 minutes' AS sent,
                random() < %(reply_rate)s AS answered,
                c.p_unsat * (0.75 + 0.5 * extract(epoch FROM (%(end_at)s::timestamp
                    AT TIME ZONE %(tz)s) - e.occurred_at) / (%(days)s * 86400.0)) AS p,
                random() AS r_sat, random() AS r_level, random() AS r_comment,
                CASE WHEN random() < 0.7 THEN random() * 7200
                     ELSE 7200 + random() * 60 * 3600 END AS delay
            FROM {event} e
            JOIN bench_cell c USING (unit_id, business_type_id)
            WHERE e.survey_decision = 'scheduled' AND e.id BETWEEN %(first)s AND %(last)s
        ) AS asked
        """
    ).format(survey=survey_t, event=event_t)
    started = time.perf_counter()
    for first, last in _chunks(plan.events, 2_000_000):
        conn.execute(statement, {**params, "first": first, "last": last})
        common.log(
            f"  surveys: events up to {last:,} of {plan.events:,} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    steps["surveys"] = time.perf_counter() - started


def _insert_callbacks_and_orders(conn, params, survey_t, callback_t, order_t, appeal_t, steps):
    """A first callback for every unsatisfied answer (done, except the last two days'); an
    attribution and tags when the citizen was reached; a work order for each at-fault one
    (closed, except the last ten days'), a few appeals, and the upheld ones taken out of the
    figures as `survey_exclude` does."""
    from minyi.callbacks.models import CallbackEvent
    from minyi.workorders.models import WorkOrderEvent

    started = time.perf_counter()
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {callback} (survey_id, kind, centre_id, unit_id, status, created_at,
                due_at, attempts, outcome, reason_text, tags, suggested_tags, attribution,
                officer_id, completed_at, completed_by_id)
            SELECT id, 'first', centre_id, unit_id, CASE WHEN done THEN 'done' ELSE 'open' END,
                answered_at, answered_at + interval '24 hours',
                CASE WHEN NOT done THEN 0 WHEN reached THEN 1 + (r_try * 2)::int ELSE 3 END,
                CASE WHEN NOT done THEN '' WHEN reached THEN 'reached' ELSE 'no_answer' END,
                CASE WHEN done AND reached THEN %(reason)s ELSE '' END,
                CASE WHEN done AND reached THEN tags ELSE '[]' END::jsonb,
                CASE WHEN done AND reached THEN tags ELSE '[]' END::jsonb,
                CASE WHEN NOT done THEN '' WHEN NOT reached THEN 'unreachable'
                     ELSE (%(attrs)s::text[])[width_bucket(r_attr, %(attr_bounds)s::float8[])]
                END,
                CASE WHEN done AND reached AND off_count > 0
                     AND width_bucket(r_attr, %(attr_bounds)s::float8[]) = 1
                     THEN (%(officers)s::bigint[])[off_start + floor(r_try * off_count)::int]
                END,
                CASE WHEN done THEN answered_at + make_interval(secs => 600 + r_time * 93600)
                END,
                CASE WHEN done THEN (%(evaluators)s::bigint[])[
                    1 + floor(r_time * cardinality(%(evaluators)s::bigint[]))::int] END
            FROM (
                SELECT s.id, s.unit_id, s.answered_at, c.centre_id, c.off_start, c.off_count,
                    s.answered_at < now() - make_interval(days => %(callback_open_days)s)
                        AS done,
                    random() < 0.88 AS reached, random() AS r_try, random() AS r_attr,
                    random() AS r_time,
                    CASE WHEN random() < 0.7 THEN jsonb_build_array(tag1)
                         WHEN tag1 = tag2 THEN jsonb_build_array(tag1)
                         ELSE jsonb_build_array(tag1, tag2) END::text AS tags
                FROM (
                    SELECT s.*,
                        (%(tags)s::text[])[1 + floor(random() * cardinality(%(tags)s::text[]))]
                            AS tag1,
                        (%(tags)s::text[])[1 + floor(random() * cardinality(%(tags)s::text[]))]
                            AS tag2
                    FROM {survey} s WHERE s.rating >= 4
                ) s
                JOIN bench_cell c USING (unit_id, business_type_id)
            ) AS unsatisfied
            ORDER BY id
            """
        ).format(callback=callback_t, survey=survey_t),
        params,
    )
    conn.execute(
        sql.SQL(
            """
            CREATE TEMP TABLE bench_order AS
            SELECT cb.id AS callback_id, cb.survey_id, cb.unit_id, cb.centre_id,
                s.business_type_id, cb.officer_id, cb.tags, cb.completed_at AS dispatched_at,
                cb.completed_at > now() - make_interval(days => %(order_open_days)s) AS recent,
                random() < 0.08 AS appealed, random() < 0.4 AS upheld, random() AS r_feedback,
                random() AS r_follow
            FROM {callback} cb JOIN {survey} s ON s.id = cb.survey_id
            WHERE cb.attribution = 'at_fault'
            ORDER BY cb.id
            """
        ).format(callback=callback_t, survey=survey_t),
        params,
    )
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {order} (number, callback_id, survey_id, unit_id, centre_id,
                business_type_id, officer_id, status, problem, tags, dispatched_at, deadline,
                deadline_provisional, accepted_at, feedback_at, feedback_text,
                follow_up_rating, returns, closed_at, resolved)
            SELECT 'ZGB' || lpad(callback_id::text, 12, '0'), callback_id, survey_id, unit_id,
                centre_id, business_type_id, officer_id,
                CASE WHEN appealed AND upheld THEN 'cancelled'
                     WHEN recent THEN (ARRAY['dispatched', 'accepted', 'feedback', 'audit'])[
                         1 + floor(r_feedback * 4)::int]
                     ELSE 'closed' END,
                %(problem)s, tags, dispatched_at,
                (dispatched_at AT TIME ZONE %(tz)s)::date + 7, false,
                dispatched_at + interval '4 hours',
                CASE WHEN NOT recent THEN dispatched_at + make_interval(
                    secs => 86400 + r_feedback * 7.5 * 86400) END,
                CASE WHEN NOT recent THEN %(feedback)s ELSE '' END,
                CASE WHEN NOT recent THEN CASE WHEN r_follow < 0.85 THEN 1 + (r_follow * 2.3)::int
                     ELSE 4 END END,
                CASE WHEN NOT recent AND r_follow >= 0.85 THEN 1 ELSE 0 END,
                CASE WHEN NOT recent AND NOT (appealed AND upheld) THEN dispatched_at
                     + make_interval(secs => 2 * 86400 + r_feedback * 7.5 * 86400) END,
                NOT recent AND NOT (appealed AND upheld) AND r_follow < 0.85
            FROM bench_order ORDER BY callback_id
            """
        ).format(order=order_t),
        params,
    )
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {appeal} (order_id, unit_id, reason, status, filed_by_id, filed_at,
                decided_by_id, decided_at, decision_note)
            SELECT o.id, o.unit_id, %(appeal_reason)s,
                CASE WHEN b.upheld THEN 'upheld' ELSE 'rejected' END, %(leader)s,
                o.dispatched_at + interval '1 day', %(supervisor)s,
                o.dispatched_at + interval '3 days',
                CASE WHEN b.upheld THEN %(upheld_note)s ELSE %(rejected_note)s END
            FROM bench_order b JOIN {order} o ON o.callback_id = b.callback_id
            WHERE b.appealed
            """
        ).format(appeal=appeal_t, order=order_t),
        params,
    )
    conn.execute(
        sql.SQL(
            """
            UPDATE {survey} s SET excluded_at = b.dispatched_at + interval '3 days'
            FROM bench_order b WHERE b.appealed AND b.upheld AND s.id = b.survey_id
            """
        ).format(survey=survey_t)
    )
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {event} (callback_id, from_status, to_status, note, created_at)
            SELECT id, '', 'open', %(callback_note)s, created_at FROM {callback}
            UNION ALL
            SELECT id, 'open', 'done', '', completed_at FROM {callback} WHERE status = 'done'
            """
        ).format(event=_table(CallbackEvent), callback=callback_t),
        params,
    )
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {event} (order_id, from_status, to_status, note, created_at)
            SELECT id, '', 'dispatched', %(dispatch_note)s, dispatched_at FROM {order}
            UNION ALL
            SELECT id, 'audit', status, '', coalesce(closed_at, dispatched_at + interval '3 days')
            FROM {order} WHERE status IN ('closed', 'cancelled')
            """
        ).format(event=_table(WorkOrderEvent), order=order_t),
        params,
    )
    steps["callbacks, work orders, appeals"] = time.perf_counter() - started
    common.log(f"  callbacks, work orders, appeals: {time.perf_counter() - started:.0f} s")


def build_satisfaction_daily(conn, tz: str, event_t, survey_t, daily_t) -> None:
    """SatisfactionDaily from the raw rows in one pass: per local day of the contact, unit and
    business type, what `rollup_add` and `rollup_exclude` keep incrementally: every event;
    every survey sent; every answer, by rating, except those taken out by an upheld appeal,
    which count as `excluded`."""
    conn.execute(sql.SQL("TRUNCATE {}").format(daily_t))
    conn.execute(
        sql.SQL(
            """
            INSERT INTO {daily} (day, unit_id, business_type_id, events, surveys_sent, replies,
                rating_1, rating_2, rating_3, rating_4, rating_5, excluded)
            SELECT (e.occurred_at AT TIME ZONE %(tz)s)::date, e.unit_id, e.business_type_id,
                count(*), count(s.sent_at),
                count(*) FILTER (WHERE s.rating IS NOT NULL AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating = 1 AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating = 2 AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating = 3 AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating = 4 AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating = 5 AND s.excluded_at IS NULL),
                count(*) FILTER (WHERE s.rating IS NOT NULL AND s.excluded_at IS NOT NULL)
            FROM {event} e LEFT JOIN {survey} s ON s.event_id = e.id
            GROUP BY 1, 2, 3
            """
        ).format(daily=daily_t, event=event_t, survey=survey_t),
        {"tz": tz},
    )
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(daily_t))


def check_rollup(db_name: str) -> dict[str, int]:
    """The rollup's totals against the raw rows: the same numbers or the run fails."""
    from minyi.perception.models import SatisfactionDaily, ServiceEvent, Survey

    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        rolled = conn.execute(
            sql.SQL(
                "SELECT sum(events), sum(surveys_sent), sum(replies), sum(excluded), "
                "sum(rating_4 + rating_5) FROM {}"
            ).format(_table(SatisfactionDaily))
        ).fetchone()
        (events,) = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(_table(ServiceEvent))
        ).fetchone()
        raw = conn.execute(
            sql.SQL(
                "SELECT count(sent_at), "
                "count(*) FILTER (WHERE rating IS NOT NULL AND excluded_at IS NULL), "
                "count(*) FILTER (WHERE rating IS NOT NULL AND excluded_at IS NOT NULL), "
                "count(*) FILTER (WHERE rating >= 4 AND excluded_at IS NULL) FROM {}"
            ).format(_table(Survey))
        ).fetchone()
    if tuple(rolled) != (events, *raw):
        raise common.BenchError(f"rollup {tuple(rolled)} != raw {(events, *raw)}")
    return dict(zip(("events", "sent", "replies", "excluded", "unsatisfied"), rolled, strict=True))


def _fill_repeat_contacts_sql(cursor, horizon) -> None:
    """RepeatContact as `repeat_contacts_fill` leaves it after a full pass: each contact that
    follows the same citizen's previous contact of the same business type within the repeat
    window (one window function over the contacts), and its FillState mark."""
    from minyi.core.pii import mask_mobile
    from minyi.dashboards import conf
    from minyi.dashboards.models import FillState, RepeatContact
    from minyi.dashboards.rollups import REPEATS
    from minyi.perception.models import BusinessType, ServiceEvent

    sensitive = list(BusinessType.objects.filter(is_sensitive=True).values_list("id", flat=True))
    # Every generated contact with a mobile carries the same one (decrypted on the way out).
    mobile = ServiceEvent.objects.exclude(citizen_mobile="").values_list(
        "citizen_mobile", flat=True
    )[:1]
    masked = mask_mobile(mobile[0]) if mobile else ""
    event_t = _table(ServiceEvent)
    cursor.execute(
        sql.SQL(
            """
            INSERT INTO {repeat} (event_id, previous_event_id, pair, mobile_masked,
                business_type_id, unit_id, occurred_at, previous_occurred_at)
            SELECT id, previous_id,
                -- repeat_pair(): the first 8 bytes of SHA-256, sign bit cleared
                ('x' || left(encode(sha256(convert_to(
                    business_type_id || ':' || citizen_mobile_hash, 'UTF8')), 'hex'), 16)
                )::bit(64)::bigint & 9223372036854775807,
                %(masked)s, business_type_id, unit_id, occurred_at, previous_at
            FROM (
                SELECT e.id, e.business_type_id, e.citizen_mobile_hash, e.unit_id,
                    e.occurred_at, lag(e.id) OVER contacts AS previous_id,
                    lag(e.occurred_at) OVER contacts AS previous_at
                FROM {event} e
                WHERE e.citizen_mobile_hash <> '' AND e.received_at <= %(horizon)s
                    AND NOT e.business_type_id = ANY(%(sensitive)s)
                WINDOW contacts AS (PARTITION BY e.citizen_mobile_hash, e.business_type_id
                                    ORDER BY e.occurred_at, e.id)
            ) AS c
            WHERE previous_id IS NOT NULL AND occurred_at - previous_at <= %(window)s
            """
        )
        .format(repeat=_table(RepeatContact), event=event_t)
        .as_string(cursor.connection),
        {
            "masked": masked,
            "horizon": horizon,
            "sensitive": sensitive,
            "window": conf.repeat_window(),
        },
    )
    cursor.execute(
        sql.SQL("SELECT max(id) FROM {} WHERE received_at <= %s").format(event_t)
        .as_string(cursor.connection),
        [horizon],
    )  # fmt: skip
    FillState.objects.update_or_create(name=REPEATS, defaults={"last_id": cursor.fetchone()[0]})


def _repeat_rows() -> list[tuple]:
    from minyi.dashboards.models import RepeatContact

    return sorted(RepeatContact.objects.values_list(
        "event_id", "previous_event_id", "pair", "mobile_masked", "business_type_id",
        "unit_id", "occurred_at", "previous_occurred_at"))  # fmt: skip


def dashboards_fingerprint() -> str:
    """The dashboards app's models and migrations: a kept database whose dashboards tables
    were made by other versions of them gets them made again."""
    import hashlib

    folder = common.ROOT / "minyi" / "dashboards"
    digest = hashlib.sha256()
    for path in sorted([folder / "models.py", *(folder / "migrations").glob("*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def reset_dashboards_tables(db_name: str) -> None:
    """Drop the dashboards app's tables (derived data only) and forget its migrations."""
    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename LIKE 'dashboards\\_%'").fetchall()]  # fmt: skip
        for table in tables:
            conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table)))
        conn.execute("DELETE FROM django_migrations WHERE app = 'dashboards'")
    common.log(f"dropped the dashboards tables ({len(tables)}) to make them again")


def refresh_dashboard_rollups(*, check: bool) -> dict[str, float]:
    """The dashboards' own rollups, by the dashboards' nightly refresh
    (`dashboard_rollups_refresh(full=True)`), except 跑多次: its service goes batch by batch
    through every contact in Python (most of an hour at this size), so equivalent SQL fills
    it first and the service then finds nothing left to do. With `check`, the service does it
    all on the same rows first, and the SQL fill must give exactly what it gave."""
    from django.db import connection, transaction
    from django.utils import timezone

    from minyi.dashboards import conf, rollups
    from minyi.dashboards.models import FillState, RepeatContact

    if FillState._meta.db_table not in connection.introspection.table_names():
        common.log("WARNING: the dashboards app has no tables yet; its rollups are not built")
        return {}
    steps = {}

    def timed(label: str, call) -> None:
        started = time.perf_counter()
        call()
        steps[label] = time.perf_counter() - started
        common.log(f"  {label}: {steps[label]:.1f} s")

    def fill_repeats():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '1GB'")
            _fill_repeat_contacts_sql(cursor, timezone.now() - conf.fill_lag())

    refresh = "dashboards: nightly refresh (services)"
    if check:
        timed(f"{refresh} with 跑多次", lambda: rollups.dashboard_rollups_refresh(full=True))
        expected = _repeat_rows()
        RepeatContact.objects.all().delete()
        FillState.objects.filter(name=rollups.REPEATS).delete()
        timed("dashboards: 跑多次 fill (SQL)", fill_repeats)
        got = _repeat_rows()
        if got != expected:
            raise common.BenchError(
                f"RepeatContact: the SQL fill gives {len(got)} rows, the service "
                f"{len(expected)}; e.g. {sorted(set(got) ^ set(expected))[:3]}"
            )
        common.log("  the SQL fill of 跑多次 gives exactly what the service gives")
    else:
        timed("dashboards: 跑多次 fill (SQL)", fill_repeats)
        timed(refresh, lambda: rollups.dashboard_rollups_refresh(full=True))
    return steps


# --- Preparing the database --------------------------------------------------------------------


@dataclass
class Prepared:
    db_name: str
    reused: bool
    meta: dict[str, str]
    steps: dict[str, float] = field(default_factory=dict)


def _parameters(args) -> dict[str, str]:
    return {"replies": str(args.replies), "days": str(args.days), "seed": str(args.seed),
            "scale": str(args.scale)}  # fmt: skip


def prepare(args, session: common.Session) -> Prepared:
    """A database with the data: the kept one when --reuse finds it complete and built with
    the same parameters, else a fresh one (dropped at the end unless --keep)."""
    db_name = args.kept_db if (args.keep or args.reuse) else session.db_name
    if args.replica:
        os.environ["MINYI_REPLICA_DATABASE_URL"] = (
            f"postgres://{common.PG_USER}@{common.PG_HOST}:{common.PG_PORT}/{db_name}"
        )
    wanted = _parameters(args)
    if args.reuse and database_exists(db_name):
        meta = read_meta(db_name)
        if meta and all(meta.get(k) == v for k, v in wanted.items()):
            if not args.keep:
                session.on_exit(f"drop {db_name}", lambda: drop_database(db_name))
            common.configure_environment(db_name, {k: meta[k] for k in SECRETS if k in meta})
            common.log(f"reusing {db_name}, built {meta['built_at']} ({meta['summary']})")
            fingerprint = dashboards_fingerprint()
            if meta.get("dashboards") != fingerprint:
                reset_dashboards_tables(db_name)
            migrate_and_build_city(args.scale)  # applies migrations added since, if any
            if meta.get("dashboards") != fingerprint:
                steps = refresh_dashboard_rollups(check=False)
                meta["dashboards"] = fingerprint
                with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
                    write_meta(conn, {"dashboards": fingerprint})
                return Prepared(db_name, True, meta, steps)
            from minyi.dashboards.rollups import dashboard_rollups_refresh

            dashboard_rollups_refresh()  # what the periodic job would do since the build
            return Prepared(db_name, True, meta)
        common.log(f"{db_name} is incomplete or was built with other parameters: rebuilding")
    if database_exists(db_name):
        drop_database(db_name)
    create_database(db_name)
    if not args.keep:
        session.on_exit(f"drop {db_name}", lambda: drop_database(db_name))
    common.log(f"database {db_name} on {common.PG_HOST}:{common.PG_PORT}")
    common.configure_environment(db_name, {"MINYI_SMS_BACKEND": "console"})
    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        write_meta(conn, {k: os.environ[k] for k in SECRETS})

    started = time.perf_counter()
    migrate_and_build_city(args.scale)
    from django.db import connections
    from django.utils import timezone

    plan = Plan(args.replies, args.days, args.seed, timezone.localdate() - timedelta(days=1))
    plan.cells = plan_cells(args.seed)
    common.log(
        f"building {plan.events:,} contacts over {plan.days} days up to {plan.last_day} in "
        f"{len(plan.cells)} (unit, business type) cells, for ~{plan.replies:,} answers"
    )
    steps = {"migrate and demo city": time.perf_counter() - started}
    connections.close_all()
    steps.update(build(db_name, plan))
    totals = check_rollup(db_name)
    steps.update(refresh_dashboard_rollups(check=args.check_rollups))
    build_seconds = time.perf_counter() - started
    summary = (
        f"{totals['events']:,} events, {totals['sent']:,} surveys sent, "
        f"{totals['replies']:,} counted answers ({totals['unsatisfied']:,} unsatisfied, "
        f"{totals['excluded']:,} excluded by appeals)"
    )
    meta = {
        **wanted,
        "built_at": f"{datetime.now(common.SHANGHAI):%Y-%m-%d %H:%M}",
        "last_day": plan.last_day.isoformat(),
        "build_seconds": f"{build_seconds:.0f}",
        "summary": summary,
        "steps": json.dumps(steps),
        "dashboards": dashboards_fingerprint(),
        "complete": "1",
    }
    with psycopg.connect(**dsn(db_name), autocommit=True) as conn:
        write_meta(conn, meta)
    common.log(f"built in {build_seconds:.0f} s: {summary}")
    return Prepared(db_name, False, meta, steps)


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class Timings:
    """Milliseconds per request (or raw query), by figure."""

    pages: dict[str, list[float]] = field(default_factory=dict)
    raw: dict[str, list[float]] = field(default_factory=dict)
    requests: list[tuple[float, "PageRequest"]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    served_by: str = ""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q of the values at or
    below it (no interpolation between two requests)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _timed_query(conn, statement, params) -> float:
    started = time.perf_counter()
    conn.execute(statement, params).fetchall()
    return (time.perf_counter() - started) * 1000


def measure(args, prepared: Prepared) -> Timings:
    """Every page request and raw query, in a shuffled order (so that neither kind is
    favoured by what the other left in the cache), after a warm-up of each."""
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from minyi.orgs.models import User

    try:
        reverse("dashboards:index")
        reverse("dashboards:drill")
    except NoReverseMatch as exc:
        raise common.BenchError(
            "the dashboards pages (dashboards:index, dashboards:drill) do not exist yet; "
            "nothing to measure"
        ) from exc
    rng = random.Random(f"{args.seed}:requests")  # noqa: S311 - synthetic, deterministic
    clients = {}
    for username in ("city_supervisor", "yuecheng_supervisor"):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username=username))
        clients[username] = client
    started = time.perf_counter()
    pages = page_requests(rng, args.requests)
    raws = raw_queries(rng, args.raw_requests, pages)
    common.log(f"requests planned in {time.perf_counter() - started:.0f} s")
    timings = Timings()
    with psycopg.connect(**dsn(prepared.db_name), autocommit=True) as conn:
        common.log(f"warming up: {len(pages)} page requests and {len(raws)} raw queries planned")
        seen = set()
        for request in pages:
            if request.figure not in seen:
                seen.add(request.figure)
                request.run(clients)
        for raw in raws:
            if raw.figure not in seen:
                seen.add(raw.figure)
                raw.run(conn)
        jobs = [("page", r) for r in pages] + [("raw", r) for r in raws]
        rng.shuffle(jobs)
        started = time.perf_counter()
        spent: dict[str, float] = {}
        skipped: dict[str, int] = {}
        for i, (kind, job) in enumerate(jobs, start=1):
            budget = args.page_budget if kind == "page" else args.raw_budget
            if spent.get(job.figure, 0) > budget * 1000:
                skipped[job.figure] = skipped.get(job.figure, 0) + 1
                continue
            if kind == "page":
                ms = job.run(clients)
                timings.pages.setdefault(job.figure, []).append(ms)
                timings.requests.append((ms, job))
            else:
                ms = job.run(conn)
                timings.raw.setdefault(job.figure, []).append(ms)
            spent[job.figure] = spent.get(job.figure, 0) + ms
            if i % 50 == 0:
                common.log(f"  {i} of {len(jobs)} ({time.perf_counter() - started:.0f} s)")
    for figure, n in skipped.items():
        timings.notes.append(f"{figure}: {n} more requests skipped, over the time budget")
    diagnose(timings, clients)
    timings.served_by = served_by(clients, pages[0])
    return timings


def served_by(clients, request) -> str:
    """Which database alias (and database) answered a dashboard page's reads: one request
    again with the queries of each alias counted."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for alias in connections:
        with CaptureQueriesContext(connections[alias]) as captured:
            request.run(clients)
        settings = connections[alias].settings_dict
        counts[f"{alias} ({settings['HOST']}:{settings['PORT']}/{settings['NAME']})"] = len(
            captured.captured_queries
        )
    return ", ".join(f"{name}: {n} queries" for name, n in counts.items())


SLOW_MS = 200  # the aim for a page's p95


def diagnose(timings: Timings, clients) -> None:
    """Untimed: the slowest request of each kind once more, with its SQL recorded; the
    slowest statement goes into the notes, and its EXPLAIN ANALYZE to stderr when the kind's
    p95 misses the aim. For the dashboard pages, the time of each figure's selector too."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from minyi.core.db_router import replica_configured
    from minyi.core.periods import period_parse
    from minyi.dashboards.page import FIGURES, dashboard_for
    from minyi.dashboards.scope import UnitIndex
    from minyi.orgs.models import User

    for figure, values in timings.pages.items():
        ms, request = max((r for r in timings.requests if r[1].figure == figure),
                          key=lambda r: r[0])  # fmt: skip
        connection = connections["replica" if replica_configured() else "default"]
        with CaptureQueriesContext(connection) as captured:
            again = request.run(clients)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        timings.notes.append(
            f"{figure}: slowest request {ms:.0f} ms ({again:.0f} ms again, "
            f"{len(captured.captured_queries)} SQL statements) {request.params} "
            f"{request.detail}; its slowest statement {float(slowest['time']) * 1000:.0f} ms"
        )
        if figure != DRILL:
            user = User.objects.get(username=request.username)
            index = UnitIndex(user)
            p = request.params
            parts = []
            for name in FIGURES:
                started = time.perf_counter()
                dashboard_for(user, index.get(p["unit"]), period=period_parse(p["period"]),
                              business_type=p.get("type"), kind=p.get("kind", ""), index=index,
                              only={name})  # fmt: skip
                parts.append(f"{name} {(time.perf_counter() - started) * 1000:.0f}")
            timings.notes.append(f"  its figures' selectors, ms: {', '.join(parts)}")
        if percentile(values, 0.95) > SLOW_MS:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            common.log(f"{figure}: p95 over {SLOW_MS} ms; its slowest statement:\n"
                       f"{slowest['sql']}\n{plan}")  # fmt: skip


@dataclass
class PageRequest:
    figure: str
    username: str
    url: str
    params: dict
    detail: str = ""  # e.g. which drill-down figure

    def run(self, clients) -> float:
        started = time.perf_counter()
        response = clients[self.username].get(self.url, self.params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise common.BenchError(
                f"GET {self.url} {self.params} as {self.username}: HTTP {response.status_code}"
            )
        return elapsed


PERIODS = ("30", "90", "365")
BUREAU, STATION, DRILL = "index, bureau (ranking)", "index, station (trend)", "drill-down"
# What a person clicks through to from the dashboard, and how often: the figure, and the
# filters the link carries (see minyi/dashboards/tables.py).
DRILL_LINKS = (
    ("satisfaction: a ranked unit", 4),
    ("satisfaction: unsatisfied", 3),
    ("satisfaction: a trend point", 3),
    ("satisfaction: a business type", 2),
    ("satisfaction: an officer", 1),
    ("callbacks", 2),
    ("workorders", 2),
    ("reasons", 2),
    ("repeats", 1),
)


def _surveyed_types(unit_id: int) -> list[int]:
    from minyi.perception.models import SatisfactionDaily

    return list(
        SatisfactionDaily.objects.filter(unit_id=unit_id, replies__gt=0)
        .values_list("business_type_id", flat=True)
        .distinct()
    )


def page_requests(rng: random.Random, n: int) -> list[PageRequest]:
    """n requests of each kind, alternating a city-level and a district-level supervisor:
    the dashboard of the user's bureau (the ranking of the units below, and every other
    figure), the dashboard of one station or brigade (its trend, officers, ...), and a
    drill-down page linked from them, at the middle page of its list."""
    from django.urls import reverse

    from minyi.core.periods import period_parse, range_key
    from minyi.dashboards import conf
    from minyi.dashboards.drill import KEYSET_FIGURES, Cursor, drill_rows
    from minyi.dashboards.filters import DrillFilters
    from minyi.dashboards.scope import UnitIndex
    from minyi.orgs.models import Officer, User
    from minyi.perception.models import ReasonTag

    index_url, drill_url = reverse("dashboards:index"), reverse("dashboards:drill")
    users = [User.objects.get(username=u) for u in ("city_supervisor", "yuecheng_supervisor")]
    indexes = {u.username: UnitIndex(u) for u in users}
    requests = []
    for i in range(n):
        user = users[i % 2]
        index = indexes[user.username]
        stations = [u for u in index.units if not u.numchild and u.depth > index.root.depth]
        bureau = {"unit": index.root.pk, "period": rng.choice(PERIODS)}
        if rng.random() < 0.25:
            bureau["kind"] = rng.choice(index.kinds_below(index.root))
        requests.append(PageRequest(BUREAU, user.username, index_url, bureau))
        station = rng.choice(stations)
        params = {"unit": station.pk, "period": rng.choice(PERIODS)}
        if rng.random() < 0.3 and (types := _surveyed_types(station.pk)):
            params["type"] = rng.choice(types)
        requests.append(PageRequest(STATION, user.username, index_url, params))

        link = rng.choices([name for name, _w in DRILL_LINKS],
                           weights=[w for _n, w in DRILL_LINKS])[0]  # fmt: skip
        figure = link.split(":")[0]
        unit = rng.choice([index.root, *[u for u in index.units if u.numchild], *stations])
        params = {"figure": figure, "unit": unit.pk, "period": rng.choice(PERIODS)}
        if link == "satisfaction: a ranked unit":
            params["unit"] = rng.choice(stations).pk
        elif link == "satisfaction: unsatisfied":
            params["status"] = "unsatisfied"
        elif link == "satisfaction: a trend point":
            period = period_parse(params["period"])
            day = period.start + timedelta(days=rng.randrange(period.days))
            end = day + timedelta(days=6) if period.by_week else day
            params["period"] = range_key(day, min(end, period.end))
        elif link == "satisfaction: a business type":
            params["type"] = rng.choice(_surveyed_types(rng.choice(stations).pk))
        elif link == "satisfaction: an officer":
            station = rng.choice(stations)
            params["unit"] = station.pk
            params["officer"] = rng.choice(
                list(Officer.objects.filter(unit=station).values_list("id", flat=True))
            )
        elif figure == "callbacks":
            params["status"] = rng.choice(("on_time", "late", "open"))
        elif figure == "workorders":
            params["status"] = rng.choice(("on_time", "late", "closed", "resolved", "open"))
        elif figure == "reasons":
            params["tag"] = rng.choice(ReasonTag.values)
        # The middle page of the list (the view stops at page 10,000), found before the clock.
        filters = DrillFilters(
            figure=figure,
            unit=index.get(params["unit"]),
            period=period_parse(params["period"]),
            business_type=params.get("type"),
            tag=params.get("tag", ""),
            status=params.get("status", ""),
            officer=params.get("officer"),
        )
        qs = drill_rows(user, filters)
        rows = qs.count()
        params["page"] = min(10_000, max(1, math.ceil(rows / conf.PAGE_SIZE / 2)))
        if figure in KEYSET_FIGURES and params["page"] > 1:
            # Keyset paging: the link to the middle page carries the cursor of the row
            # before it, as the page before it would have made it.
            at, pk = qs.values_list("contact_at", "pk")[(params["page"] - 1) * conf.PAGE_SIZE - 1]
            params["after"] = str(Cursor(at, pk))
        requests.append(PageRequest(DRILL, user.username, drill_url, params,
                                    detail=f"{link} ({rows:,} rows)"))  # fmt: skip
    return requests


# --- The same figures from the raw rows --------------------------------------------------------


@dataclass
class RawQuery:
    figure: str
    statement: sql.Composable | str
    params: dict | tuple

    def run(self, conn) -> float:
        return _timed_query(conn, self.statement, self.params)


RAW_FILTER = """
    FROM {survey} s
    JOIN {event} e ON e.id = s.event_id
    JOIN {unit} u ON u.id = s.unit_id
    WHERE u.path LIKE %(subtree)s AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
"""
RAW_COUNTS = """count(s.sent_at) AS sent,
    count(*) FILTER (WHERE s.rating IS NOT NULL AND s.excluded_at IS NULL) AS replies,
    count(*) FILTER (WHERE s.rating <= 3 AND s.excluded_at IS NULL) AS satisfied"""


def raw_queries(rng: random.Random, n: int, pages: list[PageRequest]) -> list[RawQuery]:
    """n runs of each: the satisfaction counts per unit and business type for the ranking
    (the cube, over the user's whole subtree), the trend by day for one unit's subtree, both
    from surveys joined to their contacts; and the drill-down pages' own SQL, run directly."""
    from django.conf import settings

    from minyi.core.periods import period_parse
    from minyi.dashboards.drill import drill_rows
    from minyi.dashboards.filters import DrillFilters
    from minyi.dashboards.scope import UnitIndex
    from minyi.orgs.models import OrgUnit, User
    from minyi.perception.models import ServiceEvent, Survey

    tables = {"survey": _table(Survey), "event": _table(ServiceEvent), "unit": _table(OrgUnit)}
    where = sql.SQL(RAW_FILTER).format(**tables)
    cube = sql.SQL("SELECT s.unit_id, s.business_type_id, ") + sql.SQL(RAW_COUNTS) + where
    cube += sql.SQL(" GROUP BY 1, 2")
    trend = sql.SQL("SELECT (e.occurred_at AT TIME ZONE %(tz)s)::date AS day, ")
    trend += sql.SQL(RAW_COUNTS) + where + sql.SQL(" GROUP BY 1")
    users = {u.username: u for u in User.objects.filter(
        username__in=("city_supervisor", "yuecheng_supervisor"))}  # fmt: skip
    queries = []
    by_figure = {BUREAU: [], STATION: [], DRILL: []}
    for page in pages:
        by_figure[page.figure].append(page)
    for i in range(n):
        for figure, statement in ((BUREAU, cube), (STATION, trend)):
            page = by_figure[figure][i % len(by_figure[figure])]
            unit = OrgUnit.objects.get(pk=page.params["unit"])
            if figure == BUREAU:  # the cube spans the user's whole subtree
                unit = UnitIndex(users[page.username]).root
            period = period_parse(page.params["period"])
            params = {"subtree": f"{unit.path}%", "start": period.start_at,
                      "end": period.end_before, "tz": settings.TIME_ZONE}  # fmt: skip
            label = "per unit and type (ranking)" if figure == BUREAU else "by day (trend)"
            queries.append(RawQuery(label, statement, params))
        page = by_figure[DRILL][i % len(by_figure[DRILL])]
        user = users[page.username]
        p = page.params
        filters = DrillFilters(
            figure=p["figure"], unit=OrgUnit.objects.get(pk=p["unit"]),
            period=period_parse(p["period"]), business_type=p.get("type"),
            tag=p.get("tag", ""), status=p.get("status", ""), officer=p.get("officer"),
        )  # fmt: skip
        offset = (p["page"] - 1) * 50
        statement, params = drill_rows(user, filters)[offset : offset + 51].query.sql_with_params()
        queries.append(RawQuery("drill-down SQL via psycopg", statement, params))
    return queries


# --- Report ------------------------------------------------------------------------------------


def print_report(args, prepared: Prepared, timings: Timings, at_start: str) -> None:
    common.print_heading(at_start)
    meta = prepared.meta
    if prepared.reused:
        print(f"data: {meta['summary']}; reused, built {meta['built_at']} in "
              f"{meta['build_seconds']} s")  # fmt: skip
    else:
        print(f"data: {meta['summary']}; built in {meta['build_seconds']} s")
    for step, seconds in prepared.steps.items():
        print(f"  {step:<52} {seconds:8.1f} s")
    print(f"{meta['days']} days up to {meta['last_day']}; pages requested in-process with "
          f"Django's test client, raw queries with psycopg")  # fmt: skip
    print(f"dashboard reads served by: {timings.served_by}")
    print(f"{'':<38} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")

    def row(label: str, values: list[float]) -> None:
        print(f"{label:<38} {len(values):>5} {percentile(values, 0.5):>9.1f} "
              f"{percentile(values, 0.95):>9.1f} {max(values):>9.1f}")  # fmt: skip

    for figure, values in timings.pages.items():
        row(f"page: {figure}", values)
        if figure == DRILL:
            links: dict[str, list[float]] = {}
            for ms, request in timings.requests:
                if request.figure == DRILL:
                    links.setdefault(request.detail.split(" (")[0], []).append(ms)
            for link, link_values in sorted(links.items()):
                row(f"  {link}", link_values)
    all_pages = [v for values in timings.pages.values() for v in values]
    row("all page requests", all_pages)
    for figure, values in timings.raw.items():
        row(f"raw: {figure}", values)
    all_raw = [v for values in timings.raw.values() for v in values]
    row("all raw queries", all_raw)
    for note in timings.notes:
        print(note)
    p95, raw_p95 = percentile(all_pages, 0.95), percentile(all_raw, 0.95)
    print(
        f"dashboard: p50 {percentile(all_pages, 0.5):.0f} ms; p95 {p95:.0f} ms; "
        f"raw p95 {raw_p95:.0f} ms; ratio {p95 / raw_p95:.2f}",
        flush=True,
    )


# --- Main --------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=FULL_REPLIES,
                        help=f"answered surveys to build [{FULL_REPLIES}]")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help=f"a tenth: {QUICK_REPLIES:,} replies, fewer requests, and "
                        f"its own kept database ({KEPT_DB}_tenth)")  # fmt: skip
    parser.add_argument("--replica", action="store_true",
                        help="configure MINYI_REPLICA_DATABASE_URL to the same database (a "
                        "second connection) so the dashboards read through the replica "
                        "alias")  # fmt: skip
    parser.add_argument("--days", type=int, default=730, help="days of history [730]")
    parser.add_argument("--scale", type=int, default=1, help="demo city scale [1]")
    parser.add_argument("--requests", type=int, default=50, help="requests per page [50]")
    parser.add_argument("--raw-requests", type=int, default=12,
                        help="runs of each raw query [12]")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the database ({KEPT_DB}) for later runs")  # fmt: skip
    parser.add_argument("--reuse", action="store_true",
                        help=f"use {KEPT_DB} if it was built with the same parameters")  # fmt: skip
    parser.add_argument("--page-budget", type=int, default=180,
                        help="seconds of requests per page kind, then stop [180]")  # fmt: skip
    parser.add_argument("--raw-budget", type=int, default=120,
                        help="seconds of runs per raw query kind, then stop [120]")  # fmt: skip
    parser.add_argument("--timeout", type=int, default=3600, help="abort after seconds [3600]")
    parser.add_argument("--seed", type=int, default=20261124, help="data and request seed")
    parser.add_argument("--check-rollups", action="store_true",
                        help="also fill the dashboards' rollups by their services and compare "
                        "(slow; on with --quick)")  # fmt: skip
    args = parser.parse_args(argv)
    args.kept_db = KEPT_DB
    if args.quick:
        args.check_rollups = True
        args.replies = min(args.replies, QUICK_REPLIES)
        args.kept_db = f"{KEPT_DB}_tenth"
        args.requests = min(args.requests, 20)
        args.raw_requests = min(args.raw_requests, 6)
    if args.replies < 1000 or not 60 <= args.days <= 3650 or args.requests < 1:
        parser.error("need --replies >= 1000, 60 <= --days <= 3650, --requests >= 1")
    if args.raw_requests < 1 or not 1 <= args.scale <= 50:
        parser.error("need --raw-requests >= 1 and 1 <= --scale <= 50")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    result = None
    with common.Session("minyi_bench_dashboard", args.timeout) as session:
        at_start = common.machine_at_start()
        prepared = prepare(args, session)
        timings = measure(args, prepared)
        result = (prepared, timings)
    if result is not None:
        print_report(args, *result, at_start)
    return session.status


if __name__ == "__main__":
    sys.exit(main())

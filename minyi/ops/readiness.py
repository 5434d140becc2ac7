"""The checks behind /readyz, and the database probes /metrics shares with it."""

import logging

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)

# Once the default database has every migration this code knows, it stays so until the code
# changes, which restarts the process: the migration files are then not read again.
_state = {"migrated": False}


def database_problem(connection: BaseDatabaseWrapper) -> str | None:
    """None when a `SELECT 1` answers; else the kind of error (details go to the log only:
    they name hosts and ports)."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("database %s unreachable: %s", connection.alias, error)
        return f"unreachable ({type(error).__name__})"
    return None


def unapplied_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    """The migrations this code has that the database has not applied, as app.name."""
    if _state["migrated"]:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    _state["migrated"] = not unapplied
    return unapplied


def cache_problem(alias: str) -> str | None:
    key = "minyi-readyz"
    try:
        cache = caches[alias]
        cache.set(key, "ok", 10)
        if cache.get(key) != "ok":
            return "value written was not read back"
    except Exception as error:
        logger.warning("cache %s unreachable: %s", alias, error)
        return f"unreachable ({type(error).__name__})"
    return None


def readiness_problems() -> dict[str, str]:
    """What keeps this process from serving, by check name; empty when ready.

    Only the default database counts: a read replica that is down or lagging is an alert
    (docs/runbook.md), not a reason to take every web process out of the load balancer."""
    problems: dict[str, str] = {}
    connection = connections[DEFAULT_DB_ALIAS]
    if problem := database_problem(connection):
        problems[f"database:{DEFAULT_DB_ALIAS}"] = problem
    else:
        unapplied = unapplied_migrations(connection)
        if unapplied:
            shown = ", ".join(unapplied[:5]) + (" …" if len(unapplied) > 5 else "")
            problems["migrations"] = f"{len(unapplied)} unapplied: {shown}"
    for alias in caches:
        if problem := cache_problem(alias):
            problems[f"cache:{alias}"] = problem
    return problems

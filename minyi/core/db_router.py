"""Reads of read-only pages from a PostgreSQL replica (docs/deployment.md).

When `MINYI_REPLICA_DATABASE_URL` is set, settings.py adds a `replica` database alias. Code
that only reads (the dashboards' figures and drill-downs) runs inside `replica_reads()`, and
this router then sends its reads to the replica. Everything else, and every write, goes to
`default`; the replica is never migrated.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings

DEFAULT, REPLICA = "default", "replica"
_replica_reads: ContextVar[bool] = ContextVar("minyi_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads():
    """Reads inside go to the replica when one is configured."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica(view):
    """A view whose reads may be served by the replica (its writes, such as an audit entry,
    still go to the primary)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


def read_alias() -> str:
    """The alias that serves reads here and now."""
    return REPLICA if _replica_reads.get() and replica_configured() else DEFAULT


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two connections to it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA

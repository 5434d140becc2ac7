"""Prometheus metrics, computed when scraped from the database.

Several gunicorn processes and workers run at once, on one machine or several, so a counter in
one process's memory would show a fraction of the truth. Every value here is read from the
database by `MinyiCollector` at scrape time, with the queries below (one each; cost for
PostgreSQL):

- task queue (`minyi_tasks_*`): django-tasks-db's result table, rows ready or running, by task:
  a scan of a table the worker prunes to an hour of successes and two weeks of failures
  (minyi.worker.services), a few thousand rows.
- worker heartbeats: results finished in the last hour, grouped by worker id (same table).
- outbox (`minyi_outbox_*`, `minyi_sms_*`): one GROUP BY status over the outbox. The only
  query that reads a whole large table (a sequential scan; see docs/deployment.md for its
  cost); the oldest queued message uses the partial index sms_outbound_queued_idx.
- inbound replies: partial indexes sms_inbound_received_idx / sms_inbound_review_idx.
- callbacks overdue: index callback_queue_idx (status, due_at).
- work orders overdue: index workorder_status_deadline_idx (status, deadline).
- databases: SELECT 1 on every alias; pg_database_size of the default one (PostgreSQL keeps
  it in the catalogue: no scan); on each replica alias, its replay lag.
- certificate: the PEM file in MINYI_TLS_CERT_FILE, read and parsed (no database).
- ingest rate: the newest INGEST_WINDOW_ROWS service events by primary key (events get
  increasing ids as they arrive), counted if received in the last five minutes; pending
  decisions use the partial index event_pending_idx.

Counts only: no label carries a unit, a person or a message.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, Count, Max, Min, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.integrations.sms.models import InboundSms, InboundStatus, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import UNSOLICITED, in_quiet_hours
from minyi.ops.readiness import database_problem
from minyi.perception.models import ServiceEvent, SurveyDecision
from minyi.workorders.models import UNIT_STATUSES, WorkOrder

# On a PostgreSQL replica: seconds its replay is behind what it received (0 when caught up;
# while the primary is idle the last replayed transaction ages, which is not lag). NULL on a
# primary.
REPLICA_LAG_SQL = """
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END
"""
SIZE_SQL = {
    "postgresql": "SELECT pg_database_size(current_database())",
    "sqlite": "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
}
HEARTBEAT_WINDOW = timedelta(hours=1)
INGEST_WINDOW = timedelta(minutes=5)
# Bound of the ingest-rate query: more events than this in five minutes read as this many.
INGEST_WINDOW_ROWS = 50_000
SENT_STATUSES = (OutboundStatus.SENT, OutboundStatus.DELIVERED)


@dataclass(frozen=True)
class Spec:
    kind: type[Metric]
    help: str
    labels: tuple[str, ...] = ()


METRICS = {
    "minyi_tasks_ready": Spec(GaugeMetricFamily, "Tasks ready to run, by task.", ("task",)),
    "minyi_tasks_ready_oldest_age_seconds": Spec(
        GaugeMetricFamily, "How long the longest-waiting ready task has waited (0: none)."
    ),
    "minyi_tasks_running": Spec(GaugeMetricFamily, "Tasks marked running, by task.", ("task",)),
    "minyi_tasks_running_oldest_age_seconds": Spec(
        GaugeMetricFamily, "How long the longest-running task has run (0: none)."
    ),
    "minyi_tasks_last_finished_age_seconds": Spec(
        GaugeMetricFamily, "Seconds since any worker last finished a task (absent: never)."
    ),
    "minyi_worker_last_finished_age_seconds": Spec(
        GaugeMetricFamily,
        "Seconds since each worker last finished a task (workers seen in the last hour).",
        ("worker",),
    ),
    "minyi_outbox_messages": Spec(GaugeMetricFamily, "Outbox messages by status.", ("status",)),
    "minyi_outbox_oldest_queued_age_seconds": Spec(
        GaugeMetricFamily,
        "How long the oldest queued message a sender would take now has waited (0: none).",
    ),
    "minyi_sms_sent": Spec(
        CounterMetricFamily, "Messages the gateway accepted (sent or delivered)."
    ),
    "minyi_sms_failed": Spec(CounterMetricFamily, "Messages given up as failed."),
    "minyi_sms_retried": Spec(CounterMetricFamily, "Messages that took more than one attempt."),
    "minyi_inbound_messages": Spec(
        GaugeMetricFamily,
        "Inbound replies waiting: received (not processed yet) or needs_review (for a person).",
        ("status",),
    ),
    "minyi_callbacks_overdue": Spec(GaugeMetricFamily, "Callbacks not done past their due time."),
    "minyi_workorders_overdue": Spec(
        GaugeMetricFamily, "Work orders with the unit past their deadline."
    ),
    "minyi_events_received_last_5m": Spec(
        GaugeMetricFamily, "Service events received in the last five minutes."
    ),
    "minyi_events_pending_decision": Spec(
        GaugeMetricFamily, "Service events not yet decided for a survey."
    ),
    "minyi_database_up": Spec(
        GaugeMetricFamily, "1 when the database alias answers SELECT 1.", ("alias",)
    ),
    "minyi_database_size_bytes": Spec(GaugeMetricFamily, "Size of the default database."),
    "minyi_database_capacity_bytes": Spec(
        GaugeMetricFamily, "Space for the database (MINYI_DATABASE_CAPACITY_GB; 0: not set)."
    ),
    "minyi_database_replica_lag_seconds": Spec(
        GaugeMetricFamily,
        "How far a PostgreSQL replica's replay is behind (0: caught up).",
        ("alias",),
    ),
    "minyi_tls_certificate_expiry_timestamp_seconds": Spec(
        GaugeMetricFamily, "When the certificate in MINYI_TLS_CERT_FILE expires (Unix time)."
    ),
}


def exported_names() -> set[str]:
    """Every series name the collector can write (counters with their `_total`)."""
    return {
        name + ("_total" if spec.kind is CounterMetricFamily else "")
        for name, spec in METRICS.items()
    }


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


class MinyiCollector:
    def __init__(self, *, now: datetime | None = None, using: str = "default"):
        self.now = now
        self.using = using
        self.families: dict[str, Metric] = {}

    def describe(self) -> Iterator[Metric]:
        for name, spec in METRICS.items():
            yield spec.kind(name, spec.help, labels=spec.labels or None)

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        self.families = {family.name: family for family in self.describe()}
        self._certificate()
        if self._databases():  # else only minyi_database_up and the certificate are known
            self._tasks(now)
            self._heartbeats(now)
            self._outbox(now)
            self._follow_up(now)
            self._ingest(now)
        yield from self.families.values()

    def _add(self, name: str, value: float, *labels: str) -> None:
        self.families[name].add_metric(list(labels), value)

    def _tasks(self, now: datetime) -> None:
        # A delayed task waits from its run_after, any other from when it was enqueued.
        waiting_since = Case(
            When(run_after=get_date_max(), then="enqueued_at"), default="run_after"
        )
        rows = (
            DBTaskResult.objects.using(self.using)
            .filter(
                Q(status=TaskResultStatus.READY)
                & (Q(run_after=get_date_max()) | Q(run_after__lte=now))
                | Q(status=TaskResultStatus.RUNNING)
            )
            .values("status", "task_path")
            .annotate(n=Count("id"), waiting=Min(waiting_since), started=Min("started_at"))
            .order_by()
        )
        oldest = {TaskResultStatus.READY: None, TaskResultStatus.RUNNING: None}
        for row in rows:
            ready = row["status"] == TaskResultStatus.READY
            name = "minyi_tasks_ready" if ready else "minyi_tasks_running"
            self._add(name, row["n"], row["task_path"])
            since = row["waiting"] if ready else row["started"]
            if since and (oldest[row["status"]] is None or since < oldest[row["status"]]):
                oldest[row["status"]] = since
        self._add("minyi_tasks_ready_oldest_age_seconds", _age(now, oldest["READY"]))
        self._add("minyi_tasks_running_oldest_age_seconds", _age(now, oldest["RUNNING"]))

    def _heartbeats(self, now: datetime) -> None:
        results = DBTaskResult.objects.using(self.using)
        rows = (
            results.filter(finished_at__gte=now - HEARTBEAT_WINDOW)
            .values("worker_ids")
            .annotate(last=Max("finished_at"))
            .order_by()
        )
        last_by_worker: dict[str, datetime] = {}
        for row in rows:
            for worker in row["worker_ids"] or []:
                if worker not in last_by_worker or row["last"] > last_by_worker[worker]:
                    last_by_worker[worker] = row["last"]
        for worker, last in sorted(last_by_worker.items()):
            self._add("minyi_worker_last_finished_age_seconds", _age(now, last), worker)
        if last_by_worker:
            last = max(last_by_worker.values())
        else:  # nothing in the last hour: look further back
            last = results.aggregate(last=Max("finished_at"))["last"]
        if last is not None:
            self._add("minyi_tasks_last_finished_age_seconds", _age(now, last))

    def _outbox(self, now: datetime) -> None:
        outbox = OutboundSms.objects.using(self.using)
        by_status = {
            row["status"]: row
            for row in outbox.values("status")
            .annotate(n=Count("id"), retried=Count("id", filter=Q(attempts__gt=1)))
            .order_by()
        }
        for status in OutboundStatus.values:
            self._add("minyi_outbox_messages", by_status.get(status, {}).get("n", 0), status)
        self._add("minyi_sms_sent", sum(by_status.get(s, {}).get("n", 0) for s in SENT_STATUSES))
        self._add("minyi_sms_failed", by_status.get(OutboundStatus.FAILED, {}).get("n", 0))
        self._add("minyi_sms_retried", sum(row["retried"] for row in by_status.values()))
        # What a sender would claim now: at night, not the messages that wait for morning.
        due = outbox.filter(status=OutboundStatus.QUEUED, not_before__lte=now)
        if in_quiet_hours(now):
            due = due.exclude(purpose__in=UNSOLICITED)
        oldest = due.aggregate(oldest=Min("not_before"))["oldest"]
        self._add("minyi_outbox_oldest_queued_age_seconds", _age(now, oldest))

    def _follow_up(self, now: datetime) -> None:
        waiting = dict(
            InboundSms.objects.using(self.using)
            .filter(status__in=[InboundStatus.RECEIVED, InboundStatus.NEEDS_REVIEW])
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status in (InboundStatus.RECEIVED, InboundStatus.NEEDS_REVIEW):
            self._add("minyi_inbound_messages", waiting.get(status, 0), status)
        callbacks = Callback.objects.using(self.using).filter(
            status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS], due_at__lt=now
        )
        self._add("minyi_callbacks_overdue", callbacks.count())
        # The rule of WorkOrder.is_overdue, in SQL.
        orders = WorkOrder.objects.using(self.using).filter(
            status__in=UNIT_STATUSES, deadline__lt=timezone.localdate(now)
        )
        self._add("minyi_workorders_overdue", orders.count())

    def _ingest(self, now: datetime) -> None:
        events = ServiceEvent.objects.using(self.using)
        # The id of the INGEST_WINDOW_ROWS-th newest event: a range scan of the primary key.
        oldest_read = events.order_by("-id").values("id")[INGEST_WINDOW_ROWS - 1 :][:1]
        received = events.filter(
            id__gte=Coalesce(Subquery(oldest_read), 0), received_at__gte=now - INGEST_WINDOW
        ).count()
        self._add("minyi_events_received_last_5m", received)
        pending = events.filter(survey_decision=SurveyDecision.PENDING).count()
        self._add("minyi_events_pending_decision", pending)

    def _databases(self) -> bool:
        """Each alias up or not, a replica's lag, the size; whether the one read is up."""
        up_by_alias = {}
        for alias in settings.DATABASES:
            connection = connections[alias]
            up = up_by_alias[alias] = database_problem(connection) is None
            self._add("minyi_database_up", float(up), alias)
            if up and connection.vendor == "postgresql" and alias != DEFAULT_DB_ALIAS:
                with connection.cursor() as cursor:
                    cursor.execute(REPLICA_LAG_SQL)
                    lag = cursor.fetchone()[0]
                if lag is not None:  # None: not a replica
                    self._add("minyi_database_replica_lag_seconds", float(lag), alias)
        self._add("minyi_database_capacity_bytes", settings.DATABASE_CAPACITY_GB * 2**30)
        if not up_by_alias.get(self.using):
            return False
        with connections[self.using].cursor() as cursor:
            cursor.execute(SIZE_SQL[connections[self.using].vendor])
            self._add("minyi_database_size_bytes", float(cursor.fetchone()[0]))
        return True

    def _certificate(self) -> None:
        if not settings.TLS_CERT_FILE:
            return
        with open(settings.TLS_CERT_FILE, "rb") as file:
            certificate = x509.load_pem_x509_certificate(file.read())
        expires = certificate.not_valid_after_utc.timestamp()
        self._add("minyi_tls_certificate_expiry_timestamp_seconds", expires)


def metrics_text(*, now: datetime | None = None) -> bytes:
    """The Prometheus text exposition of every metric, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MinyiCollector(now=now))
    return generate_latest(registry)

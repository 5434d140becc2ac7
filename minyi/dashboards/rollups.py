"""Keeping the dashboards' rollups current (STYLE.md rule 7).

- `satisfaction_rollups_refresh`: rebuilds the recent days of UnitSatisfactionDaily and the
  recent whole weeks of SatisfactionWeekly from perception.SatisfactionDaily (late replies and
  upheld appeals change days already rolled up, so recent days are recomputed, not added to).
- `callback_rollups_fill`: adds callbacks completed since the last pass to CallbackDaily/
  Weekly and ReasonDaily/Weekly (a completed callback never changes).
- `officer_rollup_fill`: adds surveys that can no longer change to OfficerSatisfactionDaily;
  `officer_rollup_rebuild` rebuilds it (nightly, for appeals upheld since).
- `repeat_contacts_fill`: finds 跑多次 among service events received since the last pass.

- `workorder_rollup_fill`: adds work orders closed or cancelled since the last pass to
  WorkOrderDaily; `workorder_rollup_rebuild` rebuilds it (nightly).
- `repeat_counts_refresh`: counts 跑多次 per offered period into RepeatPeriodCount when
  RepeatContact or the date has changed.

`dashboard_rollups_refresh` runs them all; run it every few minutes and with `full=True`
nightly (`manage.py dashboard_rollups`). Each records how far it got in FillState, and the
figures add the part not rolled up yet from the live tables, so a figure is exact whatever
the lag.
"""

import hashlib
import operator
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import reduce
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from minyi.callbacks.models import Callback, CallbackKind, CallbackStatus
from minyi.core.periods import ROLLING, monday, month_choices, period_parse
from minyi.core.pii import mask_mobile
from minyi.dashboards import conf
from minyi.dashboards.models import (
    CallbackDaily,
    CallbackWeekly,
    FillState,
    OfficerSatisfactionDaily,
    ReasonDaily,
    ReasonWeekly,
    RepeatContact,
    RepeatPeriodCount,
    SatisfactionWeekly,
    UnitSatisfactionDaily,
    WorkOrderDaily,
)
from minyi.orgs.models import OrgUnit
from minyi.perception.models import (
    OPEN_SURVEY_STATUSES,
    SATISFIED_RATINGS,
    BusinessType,
    SatisfactionDaily,
    ServiceEvent,
    Survey,
    SurveyStatus,
)
from minyi.workorders.models import UNIT_STATUSES, WorkOrder, WorkOrderEvent, WorkOrderStatus

SATISFACTION = "satisfaction"
CALLBACKS = "callbacks"
OFFICERS = "officers"
REPEATS = "repeat_contacts"
WORKORDERS = "workorders"
REPEAT_COUNTS = "repeat_counts"
REPEAT_COUNT_ROWS = "repeat_counts_rows"


def _locked_state(name: str) -> FillState:
    """The FillState row, locked until the end of the transaction, so that two refreshes
    never run the same rollup at once."""
    FillState.objects.get_or_create(name=name)
    return FillState.objects.select_for_update().get(name=name)


def _insert_select(model, columns: list[str], queryset) -> None:
    """INSERT INTO model's table (columns) SELECT …: the grouping runs in the database, with
    no rows through Python. The queryset's SELECT list must be in the order of `columns`."""
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)


# SatisfactionDaily counts each rating in its own column, rating_1 … rating_5. The figures
# read the days not rolled up yet with the same sums.
_SATISFIED = reduce(operator.add, [F(f"rating_{int(r)}") for r in SATISFIED_RATINGS])
DAILY_SUMS = {
    "s_sent": Sum("surveys_sent"),
    "s_replies": Sum("replies"),
    "s_satisfied": Sum(_SATISFIED),
}


@transaction.atomic
def satisfaction_rollups_refresh(*, today: date | None = None, full: bool = False) -> dict:
    """Recompute UnitSatisfactionDaily and SatisfactionWeekly for recent days (every day
    before today, from `conf.rollup_days_back()` days ago or the last refresh, whichever is
    earlier), or for all days with `full=True`. Today is never rolled up: the figures read it
    live."""
    today = today or timezone.localdate()
    last = today - timedelta(days=1)
    state = _locked_state(SATISFACTION)
    if full or state.last_day is None:
        first = SatisfactionDaily.objects.aggregate(first=Min("day"))["first"] or today
    else:
        first = min(
            today - timedelta(days=conf.rollup_days_back()), state.last_day + timedelta(days=1)
        )
    first = monday(first)  # whole weeks, so the weekly rows rebuilt are complete
    # Whole weeks end on a Sunday no later than `last`.
    last_week = monday(last + timedelta(days=1)) - timedelta(days=7)

    UnitSatisfactionDaily.objects.filter(day__gte=first).delete()
    SatisfactionWeekly.objects.filter(week__gte=first).delete()
    source = SatisfactionDaily.objects.filter(day__gte=first, day__lte=last).order_by()
    _insert_select(
        UnitSatisfactionDaily,
        ["day", "unit_id", "surveys_sent", "replies", "satisfied"],
        source.values("day", "unit_id").annotate(**DAILY_SUMS),
    )
    if last_week >= first:
        _insert_select(
            SatisfactionWeekly,
            ["week", "unit_id", "business_type_id", "surveys_sent", "replies", "satisfied"],
            source.filter(day__lte=last_week + timedelta(days=6))
            .annotate(wk=TruncWeek("day"))
            .values("wk", "unit_id", "business_type_id")
            .annotate(**DAILY_SUMS),
        )
    state.last_day = last
    state.save()
    return {"satisfaction_from": first, "satisfaction_to": last}


# --- Callbacks and reasons -------------------------------------------------------------------


def _add_counts(model, key_fields: tuple[str, ...], counts: dict[tuple, dict]) -> None:
    """Add `counts` ({key: {field: n}}) to the rollup rows with those keys, creating missing
    rows. The first key field is the day or week, the second the unit. Called with the
    FillState lock held, so nobody else writes these rows meanwhile."""
    if not counts:
        return
    time_field, unit_field = key_fields[0], key_fields[1]
    existing = {
        tuple(getattr(row, f) for f in key_fields): row
        for row in model.objects.filter(
            **{
                f"{time_field}__in": {key[0] for key in counts},
                f"{unit_field}__in": {key[1] for key in counts},
            }
        )
    }
    changed, created = [], []
    fields = sorted({f for values in counts.values() for f in values})
    for key, values in counts.items():
        row = existing.get(key)
        if row is None:
            created.append(model(**dict(zip(key_fields, key, strict=True)), **values))
            continue
        for name, n in values.items():
            setattr(row, name, getattr(row, name) + n)
        changed.append(row)
    model.objects.bulk_create(created, batch_size=1000)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=1000)


def _weekly(counts: dict[tuple, dict]) -> dict[tuple, dict]:
    """The same counts keyed by the Monday of their day."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for (day, *rest), values in counts.items():
        for name, n in values.items():
            out[(monday(day), *rest)][name] += n
    return {key: dict(values) for key, values in out.items()}


@transaction.atomic
def _callback_fill_batch(*, horizon, batch: int) -> int:
    state = _locked_state(CALLBACKS)
    qs = Callback.objects.filter(
        status=CallbackStatus.DONE, completed_at__isnull=False, completed_at__lte=horizon
    )
    if state.last_time is not None:
        qs = qs.filter(
            Q(completed_at__gt=state.last_time)
            | Q(completed_at=state.last_time, id__gt=state.last_id or 0)
        )
    rows = list(
        qs.order_by("completed_at", "id").values(
            "id", "completed_at", "due_at", "unit_id", "kind", "tags"
        )[:batch]
    )
    if not rows:
        return 0
    done: dict[tuple, dict] = defaultdict(lambda: {"done": 0, "on_time": 0})
    reasons: dict[tuple, dict] = defaultdict(lambda: {"n": 0})
    for r in rows:
        due_day = timezone.localtime(r["due_at"]).date()
        counts = done[(due_day, r["unit_id"])]
        counts["done"] += 1
        counts["on_time"] += r["completed_at"] <= r["due_at"]
        tags = set(r["tags"] or [])
        if r["kind"] == CallbackKind.FIRST and tags:
            day = timezone.localtime(r["completed_at"]).date()
            for tag in tags | {""}:
                reasons[(day, r["unit_id"], tag)]["n"] += 1
    _add_counts(CallbackDaily, ("day", "unit_id"), done)
    _add_counts(CallbackWeekly, ("week", "unit_id"), _weekly(done))
    _add_counts(ReasonDaily, ("day", "unit_id", "tag"), reasons)
    _add_counts(ReasonWeekly, ("week", "unit_id", "tag"), _weekly(reasons))
    state.last_time, state.last_id = rows[-1]["completed_at"], rows[-1]["id"]
    state.save()
    return len(rows)


def callback_rollups_fill(*, now=None, batch: int = 5000, max_batches: int = 1000) -> int:
    """Add callbacks completed since the last pass (up to a few minutes ago, see
    `conf.fill_lag`) to CallbackDaily/Weekly and ReasonDaily/Weekly; one transaction per
    batch."""
    horizon = (now or timezone.now()) - conf.fill_lag()
    total = 0
    for _i in range(max_batches):
        n = _callback_fill_batch(horizon=horizon, batch=batch)
        total += n
        if n < batch:
            break
    return total


# --- Officers --------------------------------------------------------------------------------


@transaction.atomic
def _officer_fill_batch(*, horizon, batch: int) -> int:
    state = _locked_state(OFFICERS)
    rows = list(
        Survey.objects.filter(id__gt=state.last_id or 0)
        .order_by("id")
        .values(
            "id",
            "created_at",
            "status",
            "rating",
            "excluded_at",
            "event_id",
            "event__occurred_at",
            "event__unit_id",
            "business_type_id",
        )[:batch]
    )
    # Stop at the first survey that may still be answered. One still open after the horizon
    # (never sent, say) will not be: it is passed over rather than holding the rest back.
    for i, r in enumerate(rows):
        if r["status"] in OPEN_SURVEY_STATUSES and r["created_at"] > horizon:
            rows = rows[:i]
            break
    if not rows:
        return 0
    answered = {
        r["event_id"]: r
        for r in rows
        if r["status"] == SurveyStatus.ANSWERED and r["rating"] and r["excluded_at"] is None
    }
    links = ServiceEvent.officers.through.objects.filter(
        serviceevent_id__in=list(answered)
    ).values_list("serviceevent_id", "officer_id")
    counts: dict[tuple, dict] = defaultdict(lambda: {"replies": 0, "satisfied": 0})
    for event_id, officer_id in links:
        r = answered[event_id]
        day = timezone.localtime(r["event__occurred_at"]).date()
        c = counts[(day, r["event__unit_id"], r["business_type_id"], officer_id)]
        c["replies"] += 1
        c["satisfied"] += r["rating"] in SATISFIED_RATINGS
    _add_counts(
        OfficerSatisfactionDaily, ("day", "unit_id", "business_type_id", "officer_id"), counts
    )
    state.last_id = rows[-1]["id"]
    state.save()
    return len(rows)


def officer_rollup_fill(*, now=None, batch: int = 5000, max_batches: int = 1000) -> int:
    """Add surveys that can no longer be answered (answered, expired or cancelled, or still
    open after `conf.survey_final()`) to OfficerSatisfactionDaily, in survey id order, up to
    the first one that may still be answered. The officer table reads the rest live."""
    horizon = (now or timezone.now()) - conf.survey_final()
    total = 0
    for _i in range(max_batches):
        n = _officer_fill_batch(horizon=horizon, batch=batch)
        total += n
        if n < batch:
            break
    return total


@transaction.atomic
def officer_rollup_rebuild(*, now=None) -> int:
    """Rebuild OfficerSatisfactionDaily from all final surveys in one INSERT … SELECT (the
    nightly pass: it also takes out ratings excluded by appeals upheld since)."""
    horizon = (now or timezone.now()) - conf.survey_final()
    state = _locked_state(OFFICERS)
    young = Survey.objects.filter(
        status__in=OPEN_SURVEY_STATUSES, created_at__gt=horizon
    ).aggregate(first=Min("id"))["first"]
    last = Survey.objects.aggregate(last=Max("id"))["last"] or 0
    mark = young - 1 if young is not None else last
    OfficerSatisfactionDaily.objects.all().delete()
    survey = "serviceevent__survey__"
    _insert_select(
        OfficerSatisfactionDaily,
        ["day", "unit_id", "business_type_id", "officer_id", "replies", "satisfied"],
        ServiceEvent.officers.through.objects.filter(
            **{
                f"{survey}id__lte": mark,
                f"{survey}status": SurveyStatus.ANSWERED,
                f"{survey}excluded_at__isnull": True,
                f"{survey}rating__isnull": False,
            }
        )
        .annotate(d=TruncDate("serviceevent__occurred_at"))
        .values("d", "serviceevent__unit_id", f"{survey}business_type_id", "officer_id")
        .annotate(
            r=Count("id"),
            s=Count("id", filter=Q(**{f"{survey}rating__in": SATISFIED_RATINGS})),
        )
        .order_by(),
    )
    state.last_id = mark
    state.save()
    return mark


# --- Work orders -----------------------------------------------------------------------------

FINAL_ORDER_STATUSES = (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED)


def workorder_counts(today: date | None = None) -> dict:
    """The work-order figure's counts (Count … FILTER) over orders: the same definitions for
    the rollup and for the orders read live."""
    today = today or timezone.localdate()
    cancelled = Q(status=WorkOrderStatus.CANCELLED)
    on_time = Q(feedback_at__isnull=False, feedback_at__date__lte=F("deadline"))
    late = Q(feedback_at__isnull=False, feedback_at__date__gt=F("deadline")) | Q(
        feedback_at__isnull=True, deadline__lt=today, status__in=UNIT_STATUSES
    )
    return {
        "dispatched": Count("id", filter=~cancelled),
        "cancelled": Count("id", filter=cancelled),
        "closed": Count("id", filter=Q(status=WorkOrderStatus.CLOSED)),
        "resolved": Count("id", filter=Q(status=WorkOrderStatus.CLOSED, resolved=True)),
        "on_time": Count("id", filter=~cancelled & on_time),
        "late": Count("id", filter=~cancelled & late),
    }


def orders_finalized_after(mark: int | None) -> list[int]:
    """Orders closed or cancelled by history entries after `mark`: not in WorkOrderDaily yet
    (all final orders when the rollup was never built)."""
    if mark is None:
        return []
    return list(
        WorkOrderEvent.objects.filter(id__gt=mark, to_status__in=FINAL_ORDER_STATUSES)
        .values_list("order_id", flat=True)
        .distinct()
    )


_ORDER_COLUMNS = ["day", "unit_id", "business_type_id", "dispatched", "cancelled", "closed",
                  "resolved", "on_time", "late"]  # fmt: skip


def _final_orders(exclude_ids) -> QuerySet:
    return (
        WorkOrder.objects.filter(status__in=FINAL_ORDER_STATUSES)
        .exclude(pk__in=exclude_ids)
        .annotate(d=TruncDate("dispatched_at"))
        .values("d", "unit_id", "business_type_id")
        .annotate(**workorder_counts())
        .order_by()
    )


@transaction.atomic
def workorder_rollup_rebuild(*, now=None) -> int:
    """Rebuild WorkOrderDaily from every closed or cancelled order (nightly; also the first
    fill). Its mark is the last history entry old enough to have committed; orders finalized
    by later entries are left out here and added by the next fill (and read live till then)."""
    horizon = (now or timezone.now()) - conf.fill_lag()
    state = _locked_state(WORKORDERS)
    mark = WorkOrderEvent.objects.filter(created_at__lte=horizon).aggregate(m=Max("id"))["m"] or 0
    WorkOrderDaily.objects.all().delete()
    later = WorkOrderEvent.objects.filter(id__gt=mark, to_status__in=FINAL_ORDER_STATUSES)
    _insert_select(WorkOrderDaily, _ORDER_COLUMNS, _final_orders(later.values("order_id")))
    state.last_id = mark
    state.save()
    return mark


@transaction.atomic
def _workorder_fill_batch(*, horizon, batch: int) -> int:
    state = _locked_state(WORKORDERS)
    if state.last_id is None:
        return 0
    events = list(
        WorkOrderEvent.objects.filter(id__gt=state.last_id)
        .order_by("id")
        .values("id", "to_status", "order_id", "created_at")[:batch]
    )
    for i, e in enumerate(events):
        if e["created_at"] > horizon:
            events = events[:i]
            break
    if not events:
        return 0
    final = {e["order_id"] for e in events if e["to_status"] in FINAL_ORDER_STATUSES}
    if final:
        counts: dict[tuple, dict] = {}
        for r in _final_orders([]).filter(pk__in=sorted(final)):
            counts[(r["d"], r["unit_id"], r["business_type_id"])] = {
                k: r[k] for k in _ORDER_COLUMNS[3:]
            }
        _add_counts(WorkOrderDaily, ("day", "unit_id", "business_type_id"), counts)
    state.last_id = events[-1]["id"]
    state.save()
    return len(events)


def workorder_rollup_fill(*, now=None, batch: int = 5000, max_batches: int = 1000) -> int:
    """Add orders closed or cancelled since the last pass to WorkOrderDaily (a final order
    never changes again); builds it first if it never was."""
    now = now or timezone.now()
    if FillState.objects.filter(name=WORKORDERS, last_id__isnull=False).exists() is False:
        workorder_rollup_rebuild(now=now)
    horizon = now - conf.fill_lag()
    total = 0
    for _i in range(max_batches):
        n = _workorder_fill_batch(horizon=horizon, batch=batch)
        total += n
        if n < batch:
            break
    return total


# --- 跑多次 -----------------------------------------------------------------------------------


def repeat_pair(business_type_id: int, mobile_hash: str) -> int:
    """The (business type, mobile) pair as a 63-bit integer (see RepeatContact.pair)."""
    digest = hashlib.sha256(f"{business_type_id}:{mobile_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def _repeat_pairs(events: list[dict], new_ids: set[int]) -> list[tuple[dict, dict]]:
    """(later, earlier) for consecutive contacts of one mobile and business type no more than
    the repeat window apart, where either is new."""
    window = conf.repeat_window()
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for e in events:
        groups[(e["citizen_mobile_hash"], e["business_type_id"])].append(e)
    pairs = []
    for group in groups.values():
        group.sort(key=lambda e: (e["occurred_at"], e["id"]))
        for earlier, later in pairwise(group):
            if later["occurred_at"] - earlier["occurred_at"] > window:
                continue
            if earlier["id"] in new_ids or later["id"] in new_ids:
                pairs.append((later, earlier))
    return pairs


_EVENT_FIELDS = ("id", "citizen_mobile_hash", "business_type_id", "unit_id", "occurred_at")


@transaction.atomic
def _repeat_fill_batch(*, horizon, batch: int) -> int:
    state = _locked_state(REPEATS)
    events = list(
        ServiceEvent.objects.filter(id__gt=state.last_id or 0)
        .order_by("id")
        .values(*_EVENT_FIELDS, "received_at")[:batch]
    )
    # Stop at the first event too young to be sure every lower id has committed.
    for i, e in enumerate(events):
        if e["received_at"] > horizon:
            events = events[:i]
            break
    if not events:
        return 0
    sensitive = set(BusinessType.objects.filter(is_sensitive=True).values_list("id", flat=True))
    new = [e for e in events if e["citizen_mobile_hash"] and e["business_type_id"] not in sensitive]
    if new:
        window = conf.repeat_window()
        low = min(e["occurred_at"] for e in new) - window
        high = max(e["occurred_at"] for e in new) + window
        hashes = sorted({e["citizen_mobile_hash"] for e in new})
        neighbours: dict[int, dict] = {}
        for i in range(0, len(hashes), 500):
            for e in (
                ServiceEvent.objects.filter(
                    citizen_mobile_hash__in=hashes[i : i + 500],
                    occurred_at__gte=low,
                    occurred_at__lte=high,
                )
                .exclude(business_type_id__in=sensitive)
                .values(*_EVENT_FIELDS)
            ):
                neighbours[e["id"]] = e
        pairs = _repeat_pairs(list(neighbours.values()), {e["id"] for e in new})
        mobiles = dict(
            ServiceEvent.objects.filter(id__in=[later["id"] for later, _e in pairs]).values_list(
                "id", "citizen_mobile"
            )
        )
        RepeatContact.objects.bulk_create(
            [
                RepeatContact(
                    event_id=later["id"],
                    previous_event_id=earlier["id"],
                    pair=repeat_pair(later["business_type_id"], later["citizen_mobile_hash"]),
                    mobile_masked=mask_mobile(mobiles.get(later["id"], "")),
                    business_type_id=later["business_type_id"],
                    unit_id=later["unit_id"],
                    occurred_at=later["occurred_at"],
                    previous_occurred_at=earlier["occurred_at"],
                )
                for later, earlier in pairs
            ],
            ignore_conflicts=True,  # already found from the other side
            batch_size=1000,
        )
    state.last_id = events[-1]["id"]
    state.save()
    return len(events)


def repeat_contacts_fill(*, now=None, batch: int = 5000, max_batches: int = 1000) -> int:
    """Find 跑多次 among service events received since the last pass (up to a few minutes
    ago): each event is checked against the same citizen's contacts of the same business
    type within the repeat window on either side, so events that arrive out of order are
    found too."""
    horizon = (now or timezone.now()) - conf.fill_lag()
    total = 0
    for _i in range(max_batches):
        n = _repeat_fill_batch(horizon=horizon, batch=batch)
        total += n
        if n < batch:
            break
    return total


def repeat_periods(today: date) -> list[tuple[date, date]]:
    """The periods RepeatPeriodCount holds: those the dashboard's period menu offers."""
    keys = [str(n) for n in ROLLING] + month_choices(today=today)
    return sorted({(p.start, p.end) for p in (period_parse(k, today=today) for k in keys)})


@transaction.atomic
def repeat_counts_refresh(*, today: date | None = None, force: bool = False) -> bool:
    """Count 跑多次 for the periods of `repeat_periods` again when RepeatContact or the date
    has changed since the last count (or with `force`); True when it did. One pass over the
    repeat contacts of the last year, in Python (the same on SQLite and PostgreSQL): each
    counts for its unit and every unit above it, for its business type and for all."""
    today = today or timezone.localdate()
    state = _locked_state(REPEAT_COUNTS)
    repeats_mark = FillState.objects.filter(name=REPEATS).values_list("last_id", flat=True)
    mark = next(iter(repeats_mark), None)
    if not force and state.last_day == today and state.last_id == mark and mark is not None:
        return False
    # The 跑多次 found so far: when no new one was found, the counts stand for the new mark.
    rows_state = _locked_state(REPEAT_COUNT_ROWS)
    newest = RepeatContact.objects.aggregate(m=Max("id"))["m"] or 0
    if not force and state.last_day == today and rows_state.last_id == newest:
        state.last_id = mark
        state.save()
        return False
    periods = repeat_periods(today)
    first = min(start for start, _end in periods)
    paths = dict(OrgUnit.objects.values_list("id", "path"))
    by_path = {path: pk for pk, path in paths.items()}
    step = OrgUnit.steplen

    def ancestors(unit_id: int) -> list[int]:
        path = paths.get(unit_id, "")
        return [by_path[path[:n]] for n in range(step, len(path) + 1, step) if path[:n] in by_path]

    pairs: dict[tuple, set] = defaultdict(set)
    repeats: dict[tuple, int] = defaultdict(int)
    above: dict[int, list[int]] = {}
    rows = (
        RepeatContact.objects.filter(occurred_at__gte=period_start_at(first))
        .values_list("pair", "unit_id", "business_type_id", "occurred_at")
        .order_by()
    )
    for pair, unit_id, type_id, occurred_at in rows.iterator(chunk_size=5000):
        day = timezone.localtime(occurred_at).date()
        if unit_id not in above:
            above[unit_id] = ancestors(unit_id)
        scopes = [(unit_id, False)] + [(u, True) for u in above[unit_id]]
        for period in periods:
            if not period[0] <= day <= period[1]:
                continue
            for unit, subtree in scopes:
                for bt in (type_id, None):
                    key = (period, unit, subtree, bt)
                    pairs[key].add(pair)
                    repeats[key] += 1
    RepeatPeriodCount.objects.all().delete()
    RepeatPeriodCount.objects.bulk_create(
        [
            RepeatPeriodCount(
                start=period[0],
                end=period[1],
                unit_id=unit,
                subtree=subtree,
                business_type_id=bt,
                pairs=len(found),
                repeats=repeats[(period, unit, subtree, bt)],
            )
            for (period, unit, subtree, bt), found in pairs.items()
        ],
        batch_size=2000,
    )
    state.last_day, state.last_id = today, mark
    state.save()
    rows_state.last_id = newest
    rows_state.save()
    return True


def period_start_at(day: date):
    return timezone.make_aware(datetime.combine(day, time.min))


def _analyze() -> None:
    """Fresh planner statistics after a rebuild: a table the planner believes empty gets
    nested-loop plans that rescan an index once per unit."""
    if connection.vendor != "postgresql":
        return
    tables = [
        m._meta.db_table
        for m in (
            UnitSatisfactionDaily,
            SatisfactionWeekly,
            CallbackDaily,
            CallbackWeekly,
            ReasonDaily,
            ReasonWeekly,
            OfficerSatisfactionDaily,
            RepeatContact,
            WorkOrderDaily,
            RepeatPeriodCount,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def dashboard_rollups_refresh(*, now=None, full: bool = False) -> dict:
    """Everything the dashboards need brought up to date. Every few minutes; `full=True`
    nightly (rebuilds the satisfaction rollups over all days, for appeals upheld long after
    the contact)."""
    now = now or timezone.now()
    result = satisfaction_rollups_refresh(today=timezone.localtime(now).date(), full=full)
    result["callbacks"] = callback_rollups_fill(now=now)
    if full:
        result["officer_surveys_to"] = officer_rollup_rebuild(now=now)
    else:
        result["officer_surveys"] = officer_rollup_fill(now=now)
    if full:
        result["workorders_to"] = workorder_rollup_rebuild(now=now)
    else:
        result["workorder_events"] = workorder_rollup_fill(now=now)
    result["repeat_events"] = repeat_contacts_fill(now=now)
    result["repeat_counts"] = repeat_counts_refresh(
        today=timezone.localtime(now).date(), force=full
    )
    if full:
        _analyze()
    return result

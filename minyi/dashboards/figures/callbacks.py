"""Callback timeliness (回访及时率, DOMAIN.md step 4: a callback within 24 hours of a bad
rating): callbacks due in the period done by their due time, and callbacks overdue now.
"""

from collections import Counter, defaultdict
from dataclasses import replace

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.core.periods import Period, _edge_days, _whole_weeks
from minyi.dashboards.cells import Table, count, interval, pct, text
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import CallbackDaily, CallbackWeekly, FillState
from minyi.dashboards.rates import rate
from minyi.dashboards.rollups import CALLBACKS
from minyi.dashboards.scope import UnitIndex, _by_branch, _unit_rows
from minyi.orgs.models import OrgUnit


def _not_rolled_up(state: FillState) -> Q:
    """Callbacks the callback rollups do not hold yet: not done, or done after the mark.
    Written as `status IN (…)` so the planner can use the queue index for it."""
    if state.last_time is None:
        return Q()
    return (
        Q(status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS])
        | Q(completed_at__gt=state.last_time)
        | Q(completed_at=state.last_time, id__gt=state.last_id or 0)
    )


def callback_timeliness_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
    now=None,
) -> dict:
    """Callbacks due in the period: done by their due time / all due (open ones included),
    with Wilson interval; and callbacks overdue now (any due date). Per child unit too.
    Completed callbacks come from CallbackWeekly/Daily (whole weeks, then the days at the
    edges); the rest, or everything for one business type, from the callbacks."""
    index = index or UnitIndex(user)
    now = now or timezone.now()
    state = index.fill(CALLBACKS)
    per_unit: dict[int, Counter] = defaultdict(Counter)
    scope = _unit_rows(index, unit)
    rolled = business_type is None and state.last_time is not None
    if rolled:
        weeks = _whole_weeks(period.start, period.end)
        edges = _edge_days(period, weeks)
        parts = [CallbackDaily.objects.filter(scope, edges)] if edges is not None else []
        if weeks:
            parts.append(
                CallbackWeekly.objects.filter(scope, week__gte=weeks[0], week__lte=weeks[1])
            )
        for part in parts:
            for r in (
                part.values("unit_id").annotate(done=Sum("done"), on_time=Sum("on_time")).order_by()
            ):
                per_unit[r["unit_id"]].update(
                    due=r["done"], on_time=r["on_time"], late=r["done"] - r["on_time"]
                )
    type_q = Q() if business_type is None else Q(survey__business_type_id=business_type)
    done = Q(status=CallbackStatus.DONE)
    live = (
        Callback.objects.filter(
            scope,
            type_q,
            _not_rolled_up(state) if rolled else Q(),
            due_at__gte=period.start_at,
            due_at__lt=period.end_before,
        )
        .values("unit_id")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=done & Q(completed_at__lte=F("due_at"))),
            late=Count("id", filter=done & Q(completed_at__gt=F("due_at"))),
            open=Count("id", filter=~done),
        )
        .order_by()
    )
    for r in live:
        per_unit[r["unit_id"]].update({k: r[k] for k in ("due", "on_time", "late", "open")})
    overdue = (
        Callback.objects.filter(
            scope,
            type_q,
            status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS],
            due_at__lt=now,
        )
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in overdue:
        per_unit[r["unit_id"]]["overdue_now"] += r["n"]
    return _by_branch(index, unit, per_unit, _callback_row)


def _callback_row(c: Counter) -> dict:
    return {
        **rate(c["on_time"], c["due"]),
        "late": c["late"],
        "open": c["open"],
        "overdue_now": c["overdue_now"],
    }


def _callbacks_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "callbacks",
        _("回访及时率"),
        [
            _("单位"),
            _("到期回访"),
            _("按时完成"),
            _("按时率"),
            _("95%区间"),
            _("超时完成"),
            _("未完成"),
            _("当前超时"),
        ],
    )
    for r in [*fig["rows"], {**fig["total"], "unit": None}]:
        unit = r["unit"]
        link = base if unit is None else replace(base, unit=unit)

        def h(status, link=link):
            return drill_url(link, figure="callbacks", status=status)

        name = _("合计") if unit is None else (unit.name + (_("（本级）") if r.get("own") else ""))
        table.rows.append(
            [
                text(name, cls="strong" if unit is None else ""),
                count(r["n"], href=h("")),
                count(r["s"], href=h("on_time")),
                pct(r["rate"]),
                interval(r),
                count(r["late"], href=h("late")),
                count(r["open"], href=h("open")),
                count(r["overdue_now"], href=h("overdue")),
            ]
        )
    return table

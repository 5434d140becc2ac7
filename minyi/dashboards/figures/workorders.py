"""Work orders (整改工单, DOMAIN.md step 5): feedback by the deadline, the closure rate beside
the true resolution rate (closed after a satisfied 追评), and orders overdue now.
"""

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.periods import Period
from minyi.dashboards.cells import DASH, Cell, Table, count, text
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import WorkOrderDaily
from minyi.dashboards.rates import rate
from minyi.dashboards.rollups import WORKORDERS, orders_finalized_after, workorder_counts
from minyi.dashboards.scope import UnitIndex, _by_branch, _unit_rows
from minyi.orgs.models import OrgUnit
from minyi.workorders.models import OPEN_STATUSES, UNIT_STATUSES, WorkOrder


def workorder_performance_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
    today: date | None = None,
) -> dict:
    """Work orders dispatched in the period: feedback by the deadline (on time) or not
    (late, or still without feedback past the deadline), closure rate (closed / dispatched,
    cancelled ones left out) beside the true resolution rate (closed after a satisfied 追评 /
    closed); and orders overdue now (any dispatch date). Per child unit too."""
    index = index or UnitIndex(user)
    today = today or timezone.localdate()
    scope = _unit_rows(index, unit)
    type_q = Q() if business_type is None else Q(business_type_id=business_type)
    keys = ("dispatched", "cancelled", "closed", "resolved", "on_time", "late", "open")
    per_unit: dict[int, Counter] = defaultdict(Counter)
    mark = index.fill(WORKORDERS).last_id
    if mark is not None:
        # Closed and cancelled orders from the rollup, by day of dispatch.
        for r in (
            WorkOrderDaily.objects.filter(scope, type_q, day__gte=period.start, day__lte=period.end)
            .values("unit_id")
            .annotate(**{k: Sum(k) for k in keys if k != "open"})
            .order_by()
        ):
            per_unit[r["unit_id"]].update({k: r[k] for k in keys if k != "open"})
        # Read live: the orders still open (a few, found by the status index) and those
        # closed or cancelled since the rollup's last pass.
        live = Q(status__in=OPEN_STATUSES) | Q(pk__in=orders_finalized_after(mark))
    else:
        live = Q()
    grouped = (
        WorkOrder.objects.filter(
            live,
            scope,
            type_q,
            dispatched_at__gte=period.start_at,
            dispatched_at__lt=period.end_before,
        )
        .values("unit_id")
        .annotate(
            **workorder_counts(today),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        )
        .order_by()
    )
    for r in grouped:
        per_unit[r["unit_id"]].update({k: r[k] for k in keys})
    overdue = (
        WorkOrder.objects.filter(scope, type_q, status__in=UNIT_STATUSES, deadline__lt=today)
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in overdue:
        per_unit[r["unit_id"]]["overdue_now"] += r["n"]
    return _by_branch(index, unit, per_unit, _workorder_row)


def _workorder_row(c: Counter) -> dict:
    return {
        "dispatched": c["dispatched"],
        "cancelled": c["cancelled"],
        "open": c["open"],
        "overdue_now": c["overdue_now"],
        "on_time": rate(c["on_time"], c["on_time"] + c["late"]),
        "closure": rate(c["closed"], c["dispatched"]),
        "resolution": rate(c["resolved"], c["closed"]),
    }


def _workorders_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "workorders",
        _("整改工单"),
        [
            _("单位"),
            _("派发"),
            _("按时反馈率"),
            _("办结率"),
            _("真实解决率"),
            _("在办"),
            _("当前超期"),
        ],
    )
    for r in [*fig["rows"], {**fig["total"], "unit": None}]:
        unit = r["unit"]
        link = base if unit is None else replace(base, unit=unit)

        def h(status, link=link):
            return drill_url(link, figure="workorders", status=status)

        name = _("合计") if unit is None else (unit.name + (_("（本级）") if r.get("own") else ""))
        table.rows.append(
            [
                text(name),
                count(r["dispatched"], href=h("")),
                _rate_with_n(r["on_time"], h("on_time")),
                _rate_with_n(r["closure"], h("closed")),
                _rate_with_n(r["resolution"], h("resolved")),
                count(r["open"], href=h("open")),
                count(r["overdue_now"], href=h("overdue")),
            ]
        )
    table.note = _(
        "按时反馈：整改期限（工作日）内提交反馈；办结率：已办结 / 派发（不含撤销）；"
        "真实解决率：追评满意后办结 / 已办结。"
    )
    return table


def _rate_with_n(r: dict, href: str) -> Cell:
    if r["rate"] is None:
        return Cell(DASH, None, num=True)
    label = f"{r['rate'] * 100:.1f}%（{r['s']}/{r['n']}）"
    return Cell(label, round(r["rate"], 4), href=href, num=True, fmt="0.0%")

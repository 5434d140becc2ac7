"""The opinions figure of the dashboard (capability 4 of DOMAIN.md: every opinion answered,
within its deadline; Huzhou reports a 100% reply rate).

Per child unit of the viewed unit, for opinions submitted in the period: received, answered,
reply rate (answered / received), on-time rate (answered by the deadline / due: answered, plus
those still open past their deadline, so an unanswered opinion counts against it), the
citizens' satisfaction with the answers they rated (ratings in SATISFIED_RATINGS / rated),
each with its Wilson 95% interval; and opinions open past their deadline now (any submission
date). One grouped query, whatever the number of units. Rows are units, not people, so
nothing is suppressed (the dashboards' "<5" rule applies below unit level only).
"""

from collections import Counter, defaultdict
from datetime import date

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.periods import Period
from minyi.dashboards.cells import Table, count, interval, pct, text
from minyi.dashboards.rates import rate
from minyi.dashboards.scope import UnitIndex, _by_branch, _unit_rows
from minyi.opinions.models import OPEN_STATUSES, Opinion
from minyi.orgs.models import OrgUnit
from minyi.perception.models import SATISFIED_RATINGS

_KEYS = ("received", "answered", "due", "on_time", "rated", "satisfied", "overdue_now")


def opinion_performance_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    index: UnitIndex | None = None,
    today: date | None = None,
) -> dict:
    """{"total": row, "rows": [row per child unit (and `unit`'s own when it has any)]}."""
    index = index or UnitIndex(user)
    today = today or timezone.localdate()
    in_period = Q(submitted_at__gte=period.start_at, submitted_at__lt=period.end_before)
    overdue = Q(status__in=OPEN_STATUSES, deadline__lt=today)
    answered = in_period & Q(answered_at__isnull=False)
    rated = in_period & Q(rating__isnull=False)
    grouped = (
        Opinion.objects.filter(_unit_rows(index, unit))
        .filter(in_period | overdue)
        .values("unit_id")
        .annotate(
            received=Count("id", filter=in_period),
            answered=Count("id", filter=answered),
            # Due: answered, or still open with the deadline passed. An opinion nobody answers
            # must lower the on-time rate, not drop out of it.
            due=Count("id", filter=answered | (in_period & overdue)),
            on_time=Count("id", filter=answered & Q(answered_on_time=True)),
            rated=Count("id", filter=rated),
            satisfied=Count("id", filter=rated & Q(rating__in=SATISFIED_RATINGS)),
            overdue_now=Count("id", filter=overdue),
        )
        .order_by()
    )
    per_unit: dict[int, Counter] = defaultdict(Counter)
    for r in grouped:
        per_unit[r["unit_id"]].update({k: r[k] for k in _KEYS})
    return _by_branch(index, unit, per_unit, _row)


def _row(c: Counter) -> dict:
    return {
        "received": c["received"],
        "answered": c["answered"],
        "overdue_now": c["overdue_now"],
        "reply": rate(c["answered"], c["received"]),
        "on_time": rate(c["on_time"], c["due"]),
        "satisfaction": rate(c["satisfied"], c["rated"]),
    }


def opinions_table(fig: dict) -> Table:
    table = Table(
        "opinions",
        _("群众诉求答复"),
        [
            _("单位"),
            _("受理"),
            _("已答复"),
            _("答复率"),
            _("95%区间"),
            _("按期答复率"),
            _("95%区间"),
            _("当前超期"),
            _("答复满意率"),
            _("95%区间"),
            _("评价数"),
        ],
    )
    for r in [*fig["rows"], {**fig["total"], "unit": None}]:
        unit = r["unit"]
        name = _("合计") if unit is None else (unit.name + (_("（本级）") if r.get("own") else ""))
        table.rows.append(
            [
                text(name, cls="strong" if unit is None else ""),
                count(r["received"]),
                count(r["answered"]),
                pct(r["reply"]["rate"]),
                interval(r["reply"]),
                pct(r["on_time"]["rate"]),
                interval(r["on_time"]),
                count(r["overdue_now"]),
                pct(r["satisfaction"]["rate"]),
                interval(r["satisfaction"]),
                count(r["satisfaction"]["n"]),
            ]
        )
    table.note = _(
        "按提交时间统计本时段受理的建议、投诉、咨询和线索举报。答复率：已答复 / 受理；"
        "按期答复率：在答复期限（工作日）内答复 / 已到期（已答复，加上期限已过仍未答复的），"
        "未答复的超期诉求计为未按期；答复满意率：群众评价满意"
        "（非常满意、满意、基本满意）/ 已评价；当前超期：期限已过仍未答复（不限提交时间）。"
    )
    return table

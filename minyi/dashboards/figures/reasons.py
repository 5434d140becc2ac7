"""Top reasons for dissatisfaction (不满意原因, DOMAIN.md steps 4 and 6): the reason tags
evaluators record on first callbacks, their shares, and the weekly trend of the top five.
"""

from collections import Counter
from datetime import date

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Callback, CallbackKind, CallbackStatus
from minyi.core.periods import Period, _days, _edge_days, _whole_weeks, monday
from minyi.dashboards.cells import Table, count, pct, text
from minyi.dashboards.figures.callbacks import _not_rolled_up
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import ReasonDaily, ReasonWeekly
from minyi.dashboards.rates import rate, small, small_count
from minyi.dashboards.rollups import CALLBACKS
from minyi.dashboards.scope import UnitIndex, _unit_rows
from minyi.orgs.models import OrgUnit
from minyi.perception.models import ReasonTag

TOP_REASONS = 5


def top_reasons_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """Reason tags recorded on first callbacks completed in the period: count and share of
    the callbacks with tags, most frequent first, and the weekly trend of the top five.
    Counts about fewer than 5 people are suppressed. Reads ReasonWeekly/Daily, and the
    callbacks not rolled up yet (or all of them, for one business type)."""
    index = index or UnitIndex(user)
    state = index.fill(CALLBACKS)
    scope = _unit_rows(index, unit)
    per_week: dict[tuple[date, str], int] = Counter()
    rolled = business_type is None and state.last_time is not None
    if rolled:
        weeks = _whole_weeks(period.start, period.end)
        edges = _edge_days(period, weeks)
        if edges is not None:
            rows = ReasonDaily.objects.filter(scope, edges).values("day", "tag")
            for r in rows.annotate(total=Sum("n")).order_by():
                per_week[(monday(r["day"]), r["tag"])] += r["total"]
        if weeks:
            whole = ReasonWeekly.objects.filter(scope, week__gte=weeks[0], week__lte=weeks[1])
            for r in whole.values("week", "tag").annotate(total=Sum("n")).order_by():
                per_week[(r["week"], r["tag"])] += r["total"]
    live = Callback.objects.filter(
        scope,
        _not_rolled_up(state) if rolled else Q(),
        kind=CallbackKind.FIRST,
        status=CallbackStatus.DONE,
        completed_at__gte=period.start_at,
        completed_at__lt=period.end_before,
    )
    if business_type is not None:
        live = live.filter(survey__business_type_id=business_type)
    for completed_at, tags in live.values_list("completed_at", "tags"):
        tags = set(tags or [])
        if tags:
            week = monday(timezone.localtime(completed_at).date())
            for tag in tags | {""}:
                per_week[(week, tag)] += 1

    totals: Counter = Counter()
    for (_week, tag), n in per_week.items():
        totals[tag] += n
    base = totals.pop("", 0)
    labels = dict(ReasonTag.choices)
    rows = [
        {
            "tag": tag,
            "label": labels.get(tag, tag),
            **small(rate(n, base), people=n),
        }
        for tag, n in totals.most_common()
    ]
    top = [tag for tag, _n in totals.most_common(TOP_REASONS)]
    weeks_axis = sorted({monday(d) for d in _days(period)})
    return {
        "base": base,
        "rows": rows,
        "weeks": weeks_axis,
        "series": [
            {
                "tag": t,
                "label": labels.get(t, t),
                "values": [small_count(per_week.get((w, t), 0)) for w in weeks_axis],
            }
            for t in top
        ],
    }


def _reasons_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("reasons", _("不满意原因"), [_("原因"), _("次数"), _("占比")])
    for r in fig["rows"]:
        href = drill_url(base, figure="reasons", tag=r["tag"])
        table.rows.append(
            [
                text(r["label"]),
                count(r["s"], suppressed=r["suppressed"], href=href),
                pct(r["rate"], suppressed=r["suppressed"]),
            ]
        )
    table.note = _(
        "已完成的不满意回访中记录的原因标签（一次回访可有多个标签），共 %(n)d 次回访。"
    ) % {"n": fig["base"]}
    return table

"""Reads for the perception loop, scoped to the actor's subtree."""

from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import Substr
from django.utils import timezone

from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SatisfactionDaily

# Aggregate aliases must differ from the rollup's field names.
SUMS = {
    "n_events": Sum("events"),
    "n_sent": Sum("surveys_sent"),
    "n_replies": Sum("replies"),
    **{f"r{i}": Sum(f"rating_{i}") for i in range(1, 6)},
}


def _rates(row: dict) -> dict:
    row = {k: (v or 0) if k in SUMS else v for k, v in row.items()}
    row["satisfied"] = row["r1"] + row["r2"] + row["r3"]
    row["unsatisfied"] = row["r4"] + row["r5"]
    row["reply_rate"] = row["n_replies"] / row["n_sent"] if row["n_sent"] else None
    row["satisfaction_rate"] = row["satisfied"] / row["n_replies"] if row["n_replies"] else None
    return row


def satisfaction_summary(user, unit: OrgUnit, *, days: int = 30) -> dict:
    """Figures for the console home over the last `days` days of contacts in `unit`'s
    subtree: totals, by direct child unit, by business type, and by day."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = SatisfactionDaily.objects.filter(
        scope_q(user), unit.subtree_filter("unit__"), day__gte=since
    )
    children = {c.path: c for c in OrgUnit.objects.get_children(unit)}
    by_child = []
    if children:
        branch_len = len(next(iter(children)))
        grouped = (
            rows.filter(unit__depth__gt=unit.depth)
            .annotate(branch=Substr("unit__path", 1, branch_len))
            .values("branch")
            .annotate(**SUMS)
            .order_by("branch")
        )
        by_child = [
            _rates({**g, "unit": children[g["branch"]]}) for g in grouped if g["branch"] in children
        ]
    by_type = [
        _rates(g) for g in rows.values("business_type__name").annotate(**SUMS).order_by("-n_sent")
    ]
    by_day = [_rates(g) for g in rows.values("day").annotate(**SUMS).order_by("day")]
    return {
        "days": days,
        "totals": _rates(rows.aggregate(**SUMS)),
        "by_child": by_child,
        "by_type": by_type,
        "by_day": by_day,
    }

"""跑多次 (DOMAIN.md step 6: the same citizen, the same business, several trips within 30
days), read from RepeatContact, per child unit and per business type.
"""

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.periods import Period
from minyi.dashboards import conf
from minyi.dashboards.cells import DASH, Table, count, text
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import RepeatContact, RepeatPeriodCount
from minyi.dashboards.rates import small_count
from minyi.dashboards.rollups import REPEAT_COUNTS, REPEATS, repeat_periods
from minyi.dashboards.scope import UnitIndex, _unit_rows
from minyi.orgs.models import OrgUnit


def _repeats(
    index: UnitIndex, unit: OrgUnit, *, period: Period, business_type: int | None
) -> QuerySet:
    qs = RepeatContact.objects.filter(
        _unit_rows(index, unit),
        occurred_at__gte=period.start_at,
        occurred_at__lt=period.end_before,
    )
    if business_type is not None:
        qs = qs.filter(business_type_id=business_type)
    return qs


def repeat_contacts_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """跑多次: citizens (mobile + business type pairs) who came again within the repeat window
    for a contact in the period, in total, per child unit (the unit of the repeat contact)
    and per business type (suppressed below 5)."""
    index = index or UnitIndex(user)
    children = index.children(unit)
    counted = _counted(index, unit, children, period=period, business_type=business_type)
    if counted is not None:
        by_type, by_branch = counted
    else:
        by_type, by_branch = _live(index, unit, children, period, business_type)
    unit_rows = []
    for child in [unit, *children]:
        r = by_branch.get(child.pk)
        if r is None and child is unit:
            continue
        unit_rows.append(
            {
                "unit": child,
                "own": child is unit,
                "pairs": r["pairs"] if r else 0,
                "repeats": r["repeats"] if r else 0,
            }
        )
    types = index.business_types()
    type_rows = [
        {
            "business_type": types.get(r["business_type_id"]),
            "pairs": small_count(r["pairs"]),
            "repeats": small_count(r["repeats"]) if small_count(r["pairs"]) is not None else None,
            "suppressed": small_count(r["pairs"]) is None,
        }
        for r in by_type
    ]
    total = {
        "pairs": sum(r["pairs"] for r in by_type),
        "repeats": sum(r["repeats"] for r in by_type),
    }
    state = index.fill(REPEATS)
    return {
        "pairs": total["pairs"],
        "repeats": total["repeats"],
        "units": unit_rows,
        "types": type_rows,
        "window_days": conf.repeat_window().days,
        "updated_at": state.updated_at if state.pk else None,
    }


def _counted(index: UnitIndex, unit: OrgUnit, children, *, period: Period, business_type):
    """The counts from RepeatPeriodCount: when the period is one it holds and it was counted
    today from the 跑多次 found so far (else None: counted live)."""
    state, found = index.fill(REPEAT_COUNTS), index.fill(REPEATS)
    if (
        state.last_day != timezone.localdate()
        or state.last_id is None
        or state.last_id != found.last_id
    ):
        return None
    rows = list(
        RepeatPeriodCount.objects.filter(
            start=period.start, end=period.end, unit__in=[unit, *children]
        ).values("unit_id", "subtree", "business_type_id", "pairs", "repeats")
    )
    if not rows and (period.start, period.end) not in repeat_periods(timezone.localdate()):
        return None
    by_type = sorted(
        (
            {k: r[k] for k in ("business_type_id", "pairs", "repeats")}
            for r in rows
            if r["unit_id"] == unit.pk
            and r["subtree"]
            and r["business_type_id"] is not None
            and business_type in (None, r["business_type_id"])
        ),
        key=lambda r: (-r["pairs"], r["business_type_id"]),
    )
    by_branch = {
        r["unit_id"]: r
        for r in rows
        if r["business_type_id"] == business_type and r["subtree"] == (r["unit_id"] != unit.pk)
    }
    if not children:  # as the live count gives it: one row for the unit, if only of zeros
        by_branch.setdefault(unit.pk, {"pairs": 0, "repeats": 0})
    return by_type, by_branch


def _live(index: UnitIndex, unit: OrgUnit, children, period: Period, business_type):
    qs = _repeats(index, unit, period=period, business_type=business_type)
    # Each pair has one business type, so the per-type counts add up to the total; a pair may
    # come back in two child units and then counts in both.
    by_type = list(
        qs.values("business_type_id")
        .annotate(pairs=Count("pair", distinct=True), repeats=Count("id"))
        .order_by("-pairs", "business_type_id")
    )
    branch = Case(
        *[When(unit_id__in=index.subtree_ids(c), then=Value(c.pk)) for c in children],
        default=Value(unit.pk),
        output_field=IntegerField(),
    )
    by_branch = {
        r["branch"]: r
        for r in qs.annotate(branch=branch)
        .values("branch")
        .annotate(pairs=Count("pair", distinct=True), repeats=Count("id"))
        .order_by()
    }
    return by_type, by_branch


def _repeat_units_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("repeats", _("跑多次（按单位）"), [_("单位"), _("跑多次人数"), _("再次办理次数")])
    for r in fig["units"]:
        unit = r["unit"]
        name = unit.name + (_("（本级）") if r["own"] else "")
        href = drill_url(base, figure="repeats", unit=unit.pk)
        table.rows.append([text(name), count(r["pairs"], href=href), count(r["repeats"])])
    table.note = _("同一手机号、同一业务在 %(days)d 天内再次办理，计一人；计入再次办理的单位。") % {
        "days": fig["window_days"]
    }
    return table


def _repeat_types_table(fig: dict, base: DrillFilters) -> Table:
    table = Table(
        "repeat_types", _("跑多次（按业务）"), [_("业务类型"), _("跑多次人数"), _("再次办理次数")]
    )
    for r in fig["types"]:
        bt = r["business_type"]
        href = drill_url(base, figure="repeats", type=bt.pk if bt else None)
        table.rows.append(
            [
                text(bt.name if bt else DASH),
                count(r["pairs"], suppressed=r["suppressed"], href=href),
                count(r["repeats"], suppressed=r["suppressed"]),
            ]
        )
    return table

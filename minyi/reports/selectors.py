"""Reads of monthly reports, always scoped to the reader's subtree through the report's
unit: a district's leader sees the district's reports and those of units under it, never
the city's or another district's."""

from django.db.models import QuerySet

from minyi.core.errors import NotFound
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import orgunit_root_for, scope_q
from minyi.reports.models import MonthlyReport


def report_list_visible_to(user) -> QuerySet[MonthlyReport]:
    """Reports in the user's subtree, newest month first; the files are not loaded."""
    return (
        MonthlyReport.objects.filter(scope_q(user))
        .select_related("unit", "generated_by")
        .defer("pdf", "xlsx", "figures")
        .order_by("-month", "unit__path")
    )


def report_get_visible(user, pk) -> MonthlyReport:
    report = MonthlyReport.objects.filter(scope_q(user), pk=pk).select_related("unit").first()
    if report is None:
        raise NotFound()
    return report


def report_units_for(user) -> list[OrgUnit]:
    """The units a user may ask a report for: the bureaus (the city root and the units
    directly under it) in their subtree, and their own unit."""
    root = orgunit_root_for(user)
    if root is None:
        return []
    units = OrgUnit.objects.filter(scope_q(user, ""), depth__lte=2, is_active=True)
    out = list(units.order_by("path"))
    if root not in out:
        out.insert(0, root)
    return out


def report_unit_get(user, pk) -> OrgUnit:
    unit = OrgUnit.objects.filter(scope_q(user, ""), pk=pk).first()
    if unit is None:
        raise NotFound()
    return unit

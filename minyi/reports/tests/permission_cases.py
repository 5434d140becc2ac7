"""Permission-matrix cases for the monthly reports (collected by
minyi/console/tests/test_permission_matrix.py). The owner is station a2 with a report of its
own; a sibling station's staff must neither list it nor download it nor ask for it."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm


def _report(world):
    from minyi.reports.models import MonthlyReport
    from minyi.reports.tests.factories import stored_report

    return MonthlyReport.objects.filter(unit=world.station_a2).first() or stored_report(
        world.station_a2
    )


def _marker(world):
    _report(world)
    return world.station_a2.name


CASES = {
    "reports:report_list": Case(
        Perm.WARNING_VIEW, lambda w: reverse("reports:report_list"), _marker
    ),
    "reports:report_pdf": Case(
        Perm.WARNING_VIEW,
        lambda w: reverse("reports:report_pdf", args=[_report(w).pk]),
        None,
        detail=True,
    ),
    "reports:report_xlsx": Case(
        Perm.WARNING_VIEW,
        lambda w: reverse("reports:report_xlsx", args=[_report(w).pk]),
        None,
        detail=True,
    ),
    # No month given: last month, handed to the worker, back to the list.
    "reports:generate": Case(
        Perm.DATA_EXPORT,
        lambda w: reverse("reports:generate", args=[w.station_a2.pk]),
        None,
        method="post",
        detail=True,
        owner_status=302,
    ),
}

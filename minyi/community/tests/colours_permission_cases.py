"""Permission-matrix cases: the three colours (三色管理) and incident pages of community
safety. The owner is station a2's community (code C-A2, from factories.make_grid) with its
colour for November 2026 and an incident; a sibling station's staff must see nothing of it.
The downloads are binary (marker None): their scoping is tested in test_colours_views.py."""

from django.urls import reverse

from minyi.community.access import GRID_MANAGE, GRID_VIEW
from minyi.console.tests.matrix import Case

A2_CODE = "C-A2"
A2_NAME = "甲二社区"
MONTH = "2026-11"


def _community(world):
    from minyi.community.models import GridArea
    from minyi.community.tests.factories import make_grid

    return GridArea.objects.filter(code=A2_CODE).first() or make_grid(world)["a2"]


def _coloured(world):
    import datetime

    from minyi.community.models import AreaColour

    community = _community(world)
    AreaColour.objects.get_or_create(
        area=community,
        month=datetime.date(2026, 11, 1),
        defaults={
            "population": 4000,
            "observed": 30,
            "expected": 12.0,
            "ratio": 2.1,
            "p_value": 0.0001,
            "signal": "red",
            "colour": "red",
            "rule_version": "grid-colour-2026.1",
        },
    )
    return community


def _marker(world):
    _coloured(world)
    return A2_NAME


COLOURS_CASES = {
    "community:colour_report": Case(
        GRID_VIEW, lambda w: reverse("community:colour_report") + f"?month={MONTH}", _marker
    ),
    "community:colour_report_pdf": Case(
        GRID_VIEW, lambda w: reverse("community:colour_report_pdf") + f"?month={MONTH}", None
    ),
    "community:colour_report_xlsx": Case(
        GRID_VIEW, lambda w: reverse("community:colour_report_xlsx") + f"?month={MONTH}", None
    ),
    # Recomputing is done for the city and answers with the report page (redirect).
    "community:colour_recompute": Case(
        GRID_MANAGE,
        lambda w: reverse("community:colour_recompute"),
        None,
        method="post",
        owner_status=302,
        sibling_status=302,
    ),
    # The empty form: no unit's data.
    "community:incident_import": Case(
        GRID_MANAGE, lambda w: reverse("community:incident_import"), None
    ),
    "community:incident_list": Case(
        GRID_VIEW,
        lambda w: reverse("community:incident_list", args=[_coloured(w).pk]),
        _marker,
        detail=True,
    ),
}

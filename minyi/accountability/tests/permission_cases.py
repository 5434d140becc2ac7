"""Permission-matrix cases for the accountability pages (collected by
minyi/console/tests/test_permission_matrix.py). The owner is station a2, whose leader is held
to account; a sibling station's staff must neither list the case nor open it.

The promotion review sheet (minyi/assessment/promotion.py) and opening a case from a warning
(minyi/warnings) are cases of this feature too, kept here with the rest of it."""

from django.urls import reverse

from minyi.accountability.access import (
    ACCOUNTABILITY_DECIDE,
    ACCOUNTABILITY_REPLY,
    ACCOUNTABILITY_VIEW,
)
from minyi.assessment.promotion import PROMOTION_REVIEW
from minyi.console.tests.matrix import Case


def _case(world):
    from minyi.accountability.models import AccountabilityCase
    from minyi.accountability.tests.factories import open_case

    return AccountabilityCase.objects.filter(unit=world.station_a2).first() or open_case(
        world.station_a2
    )


def _marker(world):
    _case(world)
    return world.station_a2.display_name


def _warning(world):
    from minyi.warnings.models import Warning, WarningColour
    from minyi.warnings.tests.factories import make_warning

    officer = world.officers["a2"]
    return Warning.objects.filter(officer=officer).first() or make_warning(
        officer=officer, colour=WarningColour.RED
    )


def _warning_marker(world):
    _warning(world)
    return world.officers["a2"].name


def _officer_marker(world):
    return world.officers["a2"].name


CASES = {
    "accountability:case_list": Case(
        ACCOUNTABILITY_VIEW, lambda w: reverse("accountability:case_list"), _marker
    ),
    "accountability:case_detail": Case(
        ACCOUNTABILITY_VIEW,
        lambda w: reverse("accountability:case_detail", args=[_case(w).pk]),
        _marker,
        detail=True,
    ),
    # An empty reply: the owner's leader gets the page back with the reason (400).
    "accountability:case_reply": Case(
        ACCOUNTABILITY_REPLY,
        lambda w: reverse("accountability:case_reply", args=[_case(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    # The owner's own supervisor is not a higher tier: refused (403) with the page.
    "accountability:case_decide": Case(
        ACCOUNTABILITY_DECIDE,
        lambda w: reverse("accountability:case_decide", args=[_case(w).pk]),
        _marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "warnings:warning_case_open": Case(
        ACCOUNTABILITY_DECIDE,
        lambda w: reverse("warnings:warning_case_open", args=[_warning(w).pk]),
        _warning_marker,
        method="post",
        detail=True,
        owner_status=403,
    ),
    "assessment:promotion_pick": Case(
        PROMOTION_REVIEW, lambda w: reverse("assessment:promotion_pick"), _officer_marker
    ),
    "assessment:promotion_sheet": Case(
        PROMOTION_REVIEW,
        lambda w: reverse("assessment:promotion_sheet", args=[w.officers["a2"].pk]),
        _officer_marker,
        detail=True,
    ),
    "assessment:promotion_export": Case(
        PROMOTION_REVIEW,
        lambda w: reverse("assessment:promotion_export", args=[w.officers["a2"].pk, "xlsx"]),
        None,
        detail=True,
    ),
}

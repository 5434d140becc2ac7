"""Permission-matrix cases for the three-colour warning pages (collected by
minyi/console/tests/test_permission_matrix.py). The owner is station a2: its officer is on a
red warning; a sibling station's staff must neither list it nor open it."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm


def _warning(world):
    from minyi.warnings.models import Warning
    from minyi.warnings.tests.factories import make_warning

    officer = world.officers["a2"]
    return Warning.objects.filter(officer=officer).first() or make_warning(officer=officer)


def _marker(world):
    _warning(world)
    return world.officers["a2"].name


CASES = {
    "warnings:warning_list": Case(
        Perm.WARNING_VIEW, lambda w: reverse("warnings:warning_list"), _marker
    ),
    "warnings:warning_detail": Case(
        Perm.WARNING_VIEW,
        lambda w: reverse("warnings:warning_detail", args=[_warning(w).pk]),
        _marker,
        detail=True,
    ),
    # An empty reply: the owner gets the page back with the reason (and the marker).
    "warnings:warning_reply": Case(
        Perm.WARNING_REPLY,
        lambda w: reverse("warnings:warning_reply", args=[_warning(w).pk]),
        _marker,
        method="post",
        detail=True,
    ),
}

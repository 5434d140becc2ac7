"""Permission-matrix cases for the officer directory's staff pages (collected by
minyi/console/tests/test_permission_matrix.py). The marker is station a2's officer, whom a
sibling (station a1) must never see on a print sheet or in the scan counts."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.directory.selectors import card_for
from minyi.orgs.roles import Perm


def _officer_name(world):
    return world.officers["a2"].name


def _card(world):
    return card_for(world.officers["a2"])


CASES = {
    "directory:cards": Case(
        Perm.CARD_PRINT,
        lambda w: reverse("directory:cards") + f"?unit={w.station_a2.pk}",
        _officer_name,
        detail=True,  # another subtree's unit does not exist for the sibling
    ),
    "directory:scans": Case(Perm.CARD_PRINT, lambda w: reverse("directory:scans"), _officer_name),
}

ADMIN_OBJECTS = {"directory.officercard": _card}

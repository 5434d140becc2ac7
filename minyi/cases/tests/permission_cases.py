"""Permission-matrix cases for the staff case pages (collected by
minyi/console/tests/test_permission_matrix.py). The marker is station a2's case number, which
a sibling (station a1) must never see."""

from django.urls import reverse

from minyi.cases.models import Case
from minyi.cases.tests.factories import make_case
from minyi.console.tests.matrix import Case as MatrixCase
from minyi.orgs.roles import Perm

NUMBER = "A2PERM0001"


def _case(world) -> Case:
    return Case.objects.filter(number=NUMBER).first() or make_case(world, number=NUMBER)


def _marker(world) -> str:
    return _case(world).number


CASES = {
    "cases:case_list": MatrixCase(Perm.CASE_VIEW, lambda w: reverse("cases:case_list"), _marker),
    "cases:case_detail": MatrixCase(
        Perm.CASE_VIEW,
        lambda w: reverse("cases:case_detail", args=[_case(w).pk]),
        _marker,
        detail=True,
    ),
    "cases:case_import": MatrixCase(Perm.CASE_IMPORT, lambda w: reverse("cases:case_import"), None),
}

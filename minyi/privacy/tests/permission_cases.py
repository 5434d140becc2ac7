"""Permission-matrix cases for the access-request export (collected by
minyi/console/tests/test_permission_matrix.py). The page is a form and shows no unit's data;
what an export holds per subtree is tested in test_export.py."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.privacy.export import EXPORT_PERMISSION

CASES = {
    "privacy:citizen_export": Case(
        EXPORT_PERMISSION, lambda w: reverse("privacy:citizen_export"), None
    ),
}

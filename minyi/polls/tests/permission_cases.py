"""Permission-matrix cases of the poll pages (collected by
minyi/console/tests/test_permission_matrix.py): the staff poll pages and the collection in
Minyi, each listed next to its own tests."""

from minyi.polls.tests.collection_permission_cases import COLLECTION_CASES
from minyi.polls.tests.staff_permission_cases import STAFF_CASES

CASES = {**STAFF_CASES, **COLLECTION_CASES}

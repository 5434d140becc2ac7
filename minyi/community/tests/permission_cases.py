"""Permission-matrix cases of the community-safety pages (collected by
minyi/console/tests/test_permission_matrix.py), each listed next to its own tests. The owner
is station a2's community; a sibling station's staff must see nothing of it."""

from minyi.community.tests.colours_permission_cases import COLOURS_CASES
from minyi.community.tests.grid_permission_cases import GRID_CASES
from minyi.community.tests.patrol_permission_cases import PATROL_CASES
from minyi.community.tests.work_permission_cases import WORK_CASES

CASES = {**GRID_CASES, **COLOURS_CASES, **PATROL_CASES, **WORK_CASES}

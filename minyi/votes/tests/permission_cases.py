"""Permission-matrix cases of the staff vote pages (collected by
minyi/console/tests/test_permission_matrix.py), each listed next to its own tests. The owner
is a campaign organised by station a2; a sibling station's staff must see nothing of it."""

from minyi.votes.tests.actions_permission_cases import ACTION_CASES
from minyi.votes.tests.audit_permission_cases import AUDIT_CASES
from minyi.votes.tests.campaign_permission_cases import CAMPAIGN_CASES

CASES = {**CAMPAIGN_CASES, **AUDIT_CASES, **ACTION_CASES}

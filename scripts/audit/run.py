"""`make audit`: Schemathesis over every API operation, the cross-tier leak matrix, and a
personal-data scan of every response and log record of that run; prints the figures and
exits non-zero on any server error, leak or unmasked number (docs/security.md).

    .venv/bin/python scripts/audit/run.py [extra pytest arguments]

SQLite by default; MINYI_DATABASE_URL=postgres://… runs it on PostgreSQL.
MINYI_AUDIT_EXAMPLES sets the generated requests per API operation (default 25).
"""

import os
import sys
from pathlib import Path

import pytest
from audit_plugin import AUDIT, AuditPlugin

ROOT = Path(__file__).resolve().parents[2]
SELECTION = [
    # Schemathesis: every operation of /api/openapi.json on a live server
    "scripts/audit/api_operations.py",
    # The leak matrix: every page, list, export and API × anonymous, wrong role, sibling
    # unit, owner; and the Django admin from its registry
    "minyi/console/tests/test_permission_matrix.py",
    # Numbers written every way people write them, through the API, pages, exports and log
    "minyi/cases/tests/test_pii_scan.py",
    # Citizens' pages (/c/…), outside the staff matrix: the scan reads what their tests see
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("minyi/*/tests/test_public*.py")),
    "minyi/portal/tests/test_home.py",
    "minyi/portal/tests/test_poll_pages.py",
    "minyi/perception/tests/test_views.py",  # the survey H5 page
    "minyi/directory/tests/test_directory.py",
    "minyi/verification/tests/test_otp.py",
    "minyi/votes/tests/test_action_public.py",
    # Staff forms that take citizens' numbers: meetings' questions, reminders, opinions
    "minyi/meetings/tests/test_views.py",
    "minyi/reminders/tests/test_views.py",
    "minyi/opinions/tests/test_views.py",
]


def main() -> int:
    os.chdir(ROOT)
    code = pytest.main([*SELECTION, *sys.argv[1:]], plugins=[AuditPlugin()])
    return 1 if AUDIT.failed() or code else 0


if __name__ == "__main__":
    sys.exit(main())

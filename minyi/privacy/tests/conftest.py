"""The retention periods and the frozen moment the purge tests share."""

import pytest
from django.utils import timezone

from minyi.privacy.tests.factories import PERIOD


@pytest.fixture
def periods(settings):
    settings.RETENTION_DAYS = {
        "mobile": PERIOD,
        "text": PERIOD,
        "media": PERIOD,
        "poll_answer": PERIOD,
        "audit": 183,
        "processing_record": 1095,
    }


@pytest.fixture
def now():
    # Frozen for the test; the audit trigger on PostgreSQL compares with the database's own
    # clock, so the moment stays the real one.
    return timezone.now()

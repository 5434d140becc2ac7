"""The dashboards' tests' fixtures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.dashboards.rollups import dashboard_rollups_refresh


@pytest.fixture(params=["live", "rolled"])
def rolled(request):
    """Each figure is checked twice: read live, and after the rollups are refreshed."""

    def apply():
        if request.param == "rolled":
            # Late enough that every survey is final and every callback past the lag
            dashboard_rollups_refresh(now=timezone.now() + timedelta(days=15))

    return apply

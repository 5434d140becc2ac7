"""The worker's community jobs: passes of yesterday and today, colours of last month."""

from datetime import timedelta

import pytest
from django.utils import timezone

from minyi.community.models import PatrolPass
from minyi.community.tasks import community_passes_task
from minyi.community.tests.factories import BASE_LAT, BASE_LNG, make_grid
from minyi.community.tests.test_patrol import drive, ingest

pytestmark = pytest.mark.django_db


def test_the_hourly_job_computes_passes_of_stations_that_reported(world):
    grid = make_grid(world)
    # A car drove along station a1's key segment half an hour ago (yesterday or today,
    # whatever the hour): the job finds the station by its pings
    start = timezone.localtime() - timedelta(minutes=30)
    if (start + timedelta(minutes=3)).date() != start.date():
        start -= timedelta(minutes=5)  # not across midnight: that would be one pass a day
    items = drive("XL01", start, BASE_LNG - 0.005, BASE_LAT + 0.00203, east_m_s=40 / 3.6)
    ingest(world, items)
    result = community_passes_task.call()
    assert result == {"stations": 1, "passes": 1}
    assert PatrolPass.objects.get().area == grid["segment"]

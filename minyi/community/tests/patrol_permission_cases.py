"""Permission-matrix cases: the patrol pages of community safety (巡逻见警率). The owner is a key
segment of station a2 and a flagged ping of its patrol unit; a sibling station's staff must see
neither. The ingest APIs (api:patrol_pings_ingest_api, api:patrol_checkins_ingest_api) take an
integration key, not a session: tests/test_patrol_api.py covers them."""

from django.urls import reverse

from minyi.community.access import GRID_MANAGE, GRID_VIEW
from minyi.console.tests.matrix import Case

SEGMENT_NAME = "甲二所重点路段"
FLAGGED_UNIT = "XL-A2-FLAG"
DAY = "2026-11-24"


def _segment_marker(world):
    from minyi.community.models import AreaLevel, GridArea
    from minyi.community.tests.factories import BASE_LAT, BASE_LNG, line, make_area

    if not GridArea.objects.filter(name=SEGMENT_NAME).exists():
        make_area(
            world.station_a2,
            level=AreaLevel.SEGMENT,
            name=SEGMENT_NAME,
            households=0,
            geometry=line(
                (BASE_LNG + 0.01, BASE_LAT + 0.002), (BASE_LNG + 0.014, BASE_LAT + 0.002)
            ),
            is_key=True,
        )
    return SEGMENT_NAME


def _flagged_marker(world):
    from datetime import datetime

    from django.utils import timezone

    from minyi.community.models import PatrolPing, PingFlag

    PatrolPing.objects.get_or_create(
        unit_code=FLAGGED_UNIT,
        at=timezone.make_aware(datetime(2026, 11, 24, 9, 0)),
        defaults={
            "station": world.station_a2,
            "lng": 121.5,
            "lat": 31.2,
            "flag": PingFlag.OUTSIDE,
        },
    )
    return FLAGGED_UNIT


PATROL_CASES = {
    "community:patrol": Case(GRID_VIEW, lambda w: reverse("community:patrol"), _segment_marker),
    "community:patrol_flagged": Case(
        GRID_VIEW,
        lambda w: f"{reverse('community:patrol_flagged')}?start={DAY}&end={DAY}",
        _flagged_marker,
    ),
    # The rules of the user's own unit by default: no other unit's data.
    "community:patrol_rules": Case(GRID_MANAGE, lambda w: reverse("community:patrol_rules"), None),
    # The empty upload form (its station list is the user's subtree).
    "community:patrol_import": Case(
        GRID_MANAGE, lambda w: reverse("community:patrol_import"), None
    ),
    # Recomputes the user's own stations, then back to the page.
    "community:patrol_recompute": Case(
        GRID_MANAGE,
        lambda w: reverse("community:patrol_recompute"),
        None,
        method="post",
        owner_status=302,
        sibling_status=302,
    ),
}

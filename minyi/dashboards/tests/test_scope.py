"""The units a dashboard user sees."""

import pytest

from minyi.core.errors import NotFound
from minyi.dashboards.scope import UnitIndex
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def test_unit_index_refuses_units_outside_the_subtree(world):
    index = UnitIndex(world.user("a1", Role.SUPERVISOR))
    assert index.get(world.station_a1.pk) == world.station_a1
    with pytest.raises(NotFound):
        index.get(world.station_a2.pk)
    with pytest.raises(NotFound):
        index.get("x")

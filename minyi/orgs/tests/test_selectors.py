import pytest
from django.urls import reverse

from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.selectors import orgunit_children_with_counts, subtree_summary
from minyi.orgs.tests.factories import OfficerFactory

pytestmark = pytest.mark.django_db


def test_subtree_summary_counts_the_whole_subtree(world):
    summary = subtree_summary(world.user("a", Role.SUPERVISOR), world.district_a)
    assert summary["unit_count"] == 3
    assert summary["units_by_kind"] == {UnitKind.DISTRICT_BUREAU: 1, UnitKind.POLICE_STATION: 2}
    assert summary["officer_count"] == 2


def test_children_counts_include_grandchildren(world):
    OfficerFactory.create_batch(3, unit=world.station_b1)
    children = orgunit_children_with_counts(world.user("city", Role.SUPERVISOR), world.city)
    assert {c.name: c.officer_total for c in children} == {"甲区分局": 2, "乙区分局": 4}


def test_officer_list_queries_do_not_grow_with_rows(client, world, django_assert_max_num_queries):
    client.force_login(world.user("city", Role.SUPERVISOR))
    OfficerFactory.create_batch(40, unit=world.station_b1)
    # Session, user, page queries, and one for the notification bell in the header.
    with django_assert_max_num_queries(9):
        response = client.get(reverse("console:officer_list"))
    assert response.status_code == 200
    assert response.content.decode().count("/officers/") >= 43

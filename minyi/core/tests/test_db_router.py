"""The replica router: dashboards' reads go to `replica` when it is configured, and nothing
else does; writes and migrations never do."""

import pytest
from django.conf import settings

from minyi.core.db_router import ReplicaRouter, read_alias, reads_from_replica, replica_reads
from minyi.dashboards import views
from minyi.dashboards.models import FillState


@pytest.fixture
def replica(monkeypatch):
    """The alias as settings.py adds it for MINYI_REPLICA_DATABASE_URL (not connected)."""
    monkeypatch.setitem(settings.DATABASES, "replica", {**settings.DATABASES["default"]})


def test_without_a_replica_everything_reads_the_primary():
    router = ReplicaRouter()
    assert "replica" not in settings.DATABASES
    with replica_reads():
        assert router.db_for_read(FillState) == "default"
    assert router.db_for_read(FillState) == "default"


def test_with_a_replica_only_replica_reads_go_there(replica):
    router = ReplicaRouter()
    assert router.db_for_read(FillState) == "default"
    with replica_reads():
        assert router.db_for_read(FillState) == "replica"
        assert router.db_for_write(FillState) == "default"
    assert router.db_for_read(FillState) == "default"


def test_the_replica_is_never_migrated_and_relations_are_allowed(replica):
    router = ReplicaRouter()
    assert router.allow_migrate("replica", "dashboards") is False
    assert router.allow_migrate("default", "dashboards") is True
    assert router.allow_relation(object(), object()) is True


def test_replica_reads_end_with_the_view_even_when_it_fails(replica):
    @reads_from_replica
    def view():
        assert read_alias() == "replica"
        raise ValueError("boom")

    with pytest.raises(ValueError):
        view()
    assert read_alias() == "default"


def test_the_dashboard_views_read_from_the_replica():
    # staff_view(reads_from_replica(view)): the replica layer sits right inside the access check.
    for view in (views.index, views.drill, views.export):
        assert view.__wrapped__.__code__ is reads_from_replica(lambda: None).__code__

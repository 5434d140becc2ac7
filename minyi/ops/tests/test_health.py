"""/healthz answers while the process lives; /readyz says 503, and what failed, when the
database cannot be reached or a migration is not applied."""

import copy
import socket

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.test import Client

from minyi.ops import readiness

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _migrations_checked_afresh(monkeypatch):
    monkeypatch.setitem(readiness._state, "migrated", False)


def _unreachable(tmp_path):
    """A real connection to the test database's engine where nothing answers: PostgreSQL on
    a port just closed, SQLite in a folder that does not exist."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    if connection.vendor == "postgresql":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings_dict.update(HOST="127.0.0.1", PORT=port)
    else:
        settings_dict["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias="default")


def test_healthz_answers_without_reading_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ok_on_a_migrated_database():
    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert readiness._state["migrated"]  # and the migration files are not read again


def test_readyz_names_the_unapplied_migration():
    # Given a database that has not applied the last migration of the outbox's app
    last = MigrationRecorder.Migration.objects.filter(app="sms").order_by("-name").first()
    MigrationRecorder.Migration.objects.filter(pk=last.pk).delete()
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["failed"] == {"migrations": f"1 unapplied: sms.{last.name}"}
    assert not readiness._state["migrated"]


def test_readyz_says_the_database_is_unreachable(monkeypatch, tmp_path):
    wrapper = _unreachable(tmp_path)
    try:
        assert readiness.database_problem(wrapper).startswith("unreachable (OperationalError)")
        monkeypatch.setattr(readiness, "connections", {"default": wrapper})
        response = Client().get("/readyz")
    finally:
        wrapper.close()
    assert response.status_code == 503
    assert response.json()["failed"] == {"database:default": "unreachable (OperationalError)"}
    # No host, port or path in the answer: those go to the log
    assert "127.0.0.1" not in response.content.decode()
    assert "missing" not in response.content.decode()


def test_readyz_says_a_cache_cannot_be_used(settings, tmp_path):
    # A file cache whose folder would have to be inside a file
    (tmp_path / "a-file").write_text("")
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "a-file" / "cache"),
        },
    }
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["cache:shared"]

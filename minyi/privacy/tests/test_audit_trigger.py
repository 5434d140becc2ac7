"""On PostgreSQL the audit table refuses UPDATE always, and DELETE unless the purge's session
setting is on and the row is older than 183 days."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent
from minyi.privacy.services import personal_data_purge

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def _event(days_old: int) -> AuditEvent:
    event = AuditEvent(
        action=AuditAction.LOGIN, actor_username="x", at=timezone.now() - timedelta(days=days_old)
    )
    event.save()
    return event


def _sql(statement: str, params, *, purge: bool = False):
    with transaction.atomic(), connection.cursor() as cursor:
        if purge:
            cursor.execute("SELECT set_config('minyi.audit_purge', 'on', true)")
        cursor.execute(statement, params)
        return cursor.rowcount


def test_update_refused_even_with_the_purge_setting():
    event = _event(400)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql(
            "UPDATE core_auditevent SET actor_username = 'y' WHERE id = %s", [event.pk], purge=True
        )


def test_delete_refused_without_the_purge_setting():
    event = _event(400)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_delete_of_a_young_row_refused_even_with_the_purge_setting():
    event = _event(100)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk], purge=True)


def test_the_setting_does_not_outlive_the_purge(settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "audit": 183}
    old = _event(400)
    personal_data_purge(job="test")  # inside the test's transaction, like any caller's
    kept = _event(300)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM core_auditevent WHERE id = %s", [kept.pk])
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


def test_purge_deletes_old_rows_through_the_trigger(settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "audit": 183}
    old, young = _event(200), _event(150)
    personal_data_purge(job="test")
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=young.pk).exists()

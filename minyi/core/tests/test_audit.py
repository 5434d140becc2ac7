import pytest
from django.db import DatabaseError, connection, transaction

from minyi.core.audit import audit_record
from minyi.core.models import AuditAction, AuditEvent


@pytest.mark.django_db
def test_audit_log_is_append_only(world):
    event = audit_record(action=AuditAction.LOGIN, actor=world.user("a1", "evaluator"))
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="logout")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert event.actor_unit == world.station_a1


@pytest.mark.django_db
def test_database_refuses_raw_updates_and_deletes(world):
    event = audit_record(action=AuditAction.LOGIN, actor=world.user("a1", "evaluator"))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])

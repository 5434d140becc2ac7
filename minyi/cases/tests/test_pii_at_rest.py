"""Case progress notes (shown to the parties; the case system's clerk may write a number in
them) are stored encrypted, and the migrations encrypt the notes already stored and decrypt
them again going back (issue 12, item 3)."""

from types import SimpleNamespace

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from minyi.cases.models import Case, CaseProgress
from minyi.cases.services import case_upsert
from minyi.cases.tests.factories import case_data
from minyi.core.pii_migrations import encrypt_existing_rows
from minyi.core.tests.at_rest import NOTE, NUMBER, assert_encrypted, stored

BEFORE = [("cases", "0001_initial")]
AFTER = [("cases", "0003_progress_note_encrypt_rows")]


def _case_with_note(world) -> Case:
    step = {
        "stage": "investigating",
        "occurred_at": timezone.now().isoformat(),
        "note": NOTE,
        "external_id": "s-1",
    }
    case, _created = case_upsert(
        scope=world.city, data=case_data(world, progress=[step]), source="test"
    )
    return case


@pytest.mark.django_db
def test_progress_note_is_encrypted_at_rest(world):
    case = _case_with_note(world)
    assert_encrypted(case.progress.get(external_id="s-1"), "note")


def _set_raw(progress, value):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_caseprogress SET note = %s WHERE id = %s", [value, progress.pk]
        )


@pytest.mark.django_db
def test_encrypting_existing_rows_is_idempotent_and_reversible(world):
    progress = _case_with_note(world).progress.get(external_id="s-1")
    operation = encrypt_existing_rows("cases", {"CaseProgress": ["note"]})
    editor = SimpleNamespace(connection=connection)
    # Given a row written in clear (before the migration) beside one already encrypted
    _set_raw(progress, NOTE)
    # When the data migration runs, twice
    operation.code(current_apps, editor)
    once = stored(progress, "note")
    operation.code(current_apps, editor)
    # Then the row is encrypted once, and read back as it was
    assert NUMBER not in once and stored(progress, "note") == once
    assert CaseProgress.objects.get(pk=progress.pk).note == NOTE
    # And going back gives the plaintext again, also when run twice
    operation.reverse_code(current_apps, editor)
    operation.reverse_code(current_apps, editor)
    assert stored(progress, "note") == NOTE


@pytest.mark.django_db(transaction=True)
def test_migrations_keep_existing_notes_forward_and_back(world):
    progress = _case_with_note(world).progress.get(external_id="s-1")
    executor = MigrationExecutor(connection)
    try:
        # Given the schema before encryption, holding a note in clear
        executor.migrate(BEFORE)
        assert stored(progress, "note") == NOTE
        # When migrating forward
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        # Then the note is encrypted and reads as before
        assert NUMBER not in stored(progress, "note")
        assert CaseProgress.objects.get(pk=progress.pk).note == NOTE
        # And migrating back restores the plaintext column
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        assert stored(progress, "note") == NOTE
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

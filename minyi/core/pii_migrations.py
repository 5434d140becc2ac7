"""Data migrations that move a plaintext column to `EncryptedTextField` ciphertext and back.

The schema migration (AlterField to EncryptedTextField) goes first; its historical model would
try to decrypt the old plaintext on read, so the rows are rewritten here with plain SQL, in
batches by primary key. Both directions are idempotent: a value that already decrypts is left
as it is going forward, a value that does not decrypt is left as it is going back (a row
written by the old code during a rolling deploy, or a migration run twice).
"""

from cryptography.fernet import InvalidToken
from django.db import migrations

from minyi.core.pii import _fernet, encrypt

BATCH = 1000


def _is_ciphertext(value: str) -> bool:
    try:
        _fernet().decrypt(value.encode())
    except (InvalidToken, ValueError):
        return False
    return True


def _to_ciphertext(value):
    return value if not value or _is_ciphertext(value) else encrypt(value)


def _to_plaintext(value):
    if not value or not _is_ciphertext(value):
        return value
    return _fernet().decrypt(value.encode()).decode()


def _rewrite(model, fields, schema_editor, convert) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    columns = [quote(model._meta.get_field(name).column) for name in fields]
    select = (
        f"SELECT {pk}, {', '.join(columns)} FROM {table} "  # noqa: S608 - names from the model
        f"WHERE {pk} > %s ORDER BY {pk} LIMIT {BATCH}"
    )
    update = (
        f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in columns)} "  # noqa: S608
        f"WHERE {pk} = %s"
    )
    last = 0  # integer primary keys start at 1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            if not rows:
                return
            changed = []
            for row_pk, *values in rows:
                new = [convert(v) for v in values]
                if new != values:
                    changed.append([*new, row_pk])
            if changed:
                cursor.executemany(update, changed)
        last = rows[-1][0]


def encrypt_existing_rows(app_label: str, fields_by_model: dict[str, list[str]]):
    """A reversible RunPython: encrypt the listed fields' existing rows (back: decrypt)."""

    def run(apps, schema_editor, convert):
        for model_name, fields in fields_by_model.items():
            _rewrite(apps.get_model(app_label, model_name), fields, schema_editor, convert)

    def forward(apps, schema_editor):
        run(apps, schema_editor, _to_ciphertext)

    def backward(apps, schema_editor):
        run(apps, schema_editor, _to_plaintext)

    return migrations.RunPython(forward, backward)

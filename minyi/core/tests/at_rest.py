"""Helpers for the encryption-at-rest tests of each app: what the database really holds."""

from django.db import connection

# A citizen's number as staff might type it into a note.
NUMBER = "13712340000"
NOTE = f"已电话联系群众（{NUMBER}），说明了处理结果。"


def stored(obj, field: str) -> str:
    """The column's raw content, read with plain SQL (no decryption)."""
    model = type(obj)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [obj.pk])  # noqa: S608
        return cursor.fetchone()[0]


def assert_encrypted(obj, field: str, plaintext: str = NOTE) -> None:
    raw = stored(obj, field)
    assert raw, f"{type(obj).__name__}.{field} is empty"
    assert NUMBER not in raw and plaintext not in raw, f"{type(obj).__name__}.{field} in clear"
    reloaded = type(obj).objects.get(pk=obj.pk)
    assert plaintext in getattr(reloaded, field)

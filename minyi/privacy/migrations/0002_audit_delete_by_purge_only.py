"""The audit log's trigger (core 0002) refused every UPDATE and DELETE. The retention purge
must delete rows past their period, so on PostgreSQL a DELETE now passes only when both hold:
- the session has set `minyi.audit_purge` to 'on' for the transaction (only the purge does,
  with set_config(..., true)), so a stray ORM call or hand-written DELETE is still refused;
- the row is older than 183 days (等保2.0: logs kept six months), whatever the session says.
UPDATE stays refused. SQLite (the demo database) keeps its no-UPDATE trigger as it was."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION minyi_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('minyi.audit_purge', true) = 'on'
       AND OLD.at < now() - interval '183 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'core_auditevent is append-only (only the retention purge deletes, and only rows older than 183 days)';
END;
$$ LANGUAGE plpgsql;
"""
# core 0002's function, as it was.
BACKWARD = """
CREATE OR REPLACE FUNCTION minyi_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_log_append_only"), ("privacy", "0001_processing_records")]
    operations = [migrations.RunPython(forward, backward)]

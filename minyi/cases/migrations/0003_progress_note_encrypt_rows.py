"""Encrypt the case progress notes already stored (schema change in 0002). Reversible: going
back decrypts them."""

from django.db import migrations

from minyi.core.pii_migrations import encrypt_existing_rows


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_progress_note_encrypted")]
    operations = [
        encrypt_existing_rows(
            "cases",
            {
                "CaseProgress": ["note"],
            },
        )
    ]

"""Encrypt the callback attempt and history notes already stored (schema change in 0008).
Reversible: going back decrypts them."""

from django.db import migrations

from minyi.core.pii_migrations import encrypt_existing_rows


class Migration(migrations.Migration):
    dependencies = [("perception", "0008_callback_notes_encrypted")]
    operations = [
        encrypt_existing_rows(
            "perception",
            {
                "CallbackAttempt": ["note"],
                "CallbackEvent": ["note"],
            },
        )
    ]

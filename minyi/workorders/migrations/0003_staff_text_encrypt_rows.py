"""Encrypt the feedback, history notes and appeal texts already stored (schema change in
0002). Reversible: going back decrypts them."""

from django.db import migrations

from minyi.core.pii_migrations import encrypt_existing_rows


class Migration(migrations.Migration):
    dependencies = [("workorders", "0002_staff_text_encrypted")]
    operations = [
        encrypt_existing_rows(
            "workorders",
            {
                "WorkOrder": ["feedback_text"],
                "WorkOrderEvent": ["note"],
                "Appeal": ["reason", "decision_note"],
            },
        )
    ]

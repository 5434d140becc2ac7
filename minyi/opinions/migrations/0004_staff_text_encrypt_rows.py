"""Encrypt the areas, answers, verdict notes, history notes and reward texts already stored
(schema change in 0003). Reversible: going back decrypts them."""

from django.db import migrations

from minyi.core.pii_migrations import encrypt_existing_rows


class Migration(migrations.Migration):
    dependencies = [("opinions", "0003_staff_text_encrypted")]
    operations = [
        encrypt_existing_rows(
            "opinions",
            {
                "Opinion": ["area", "answer", "tip_verdict_note"],
                "OpinionEvent": ["note"],
                "TipReward": ["reason", "decision_note"],
                "RewardEvent": ["note"],
            },
        )
    ]

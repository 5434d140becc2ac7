# WorkOrder.callback now points at callbacks.Callback: the same table (perception_callback),
# so only Django's state changes; no SQL runs.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workorders", "0003_staff_text_encrypt_rows"),
        ("callbacks", "0001_moved_from_perception"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="workorder",
                    name="callback",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="work_order_created",
                        to="callbacks.callback",
                        verbose_name="来源回访",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]

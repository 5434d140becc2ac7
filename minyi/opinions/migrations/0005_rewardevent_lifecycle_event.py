"""Reward history rows take the shape every lifecycle's history has (core.lifecycle
LifecycleEvent): statuses up to 12 characters and an actor that may be empty (a move made by
the system). Widening columns keeps every row as it is."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("opinions", "0004_staff_text_encrypt_rows"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="rewardevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="rewardevent",
            name="from_status",
            field=models.CharField(blank=True, max_length=12),
        ),
        migrations.AlterField(
            model_name="rewardevent",
            name="to_status",
            field=models.CharField(max_length=12),
        ),
    ]

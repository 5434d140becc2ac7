from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("perception", "0011_survey_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="contact_at",
            field=models.DateTimeField(null=True, verbose_name="服务时间"),
        ),
        # Copied from the event; a correlated subquery works on SQLite and PostgreSQL alike.
        migrations.RunSQL(
            "UPDATE perception_survey SET contact_at = (SELECT e.occurred_at FROM "
            "perception_serviceevent e WHERE e.id = perception_survey.event_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="survey",
            name="contact_at",
            field=models.DateTimeField(verbose_name="服务时间"),
        ),
    ]

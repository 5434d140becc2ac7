from django.db import migrations

DAYS = {"suggestion": 5, "complaint": 5, "consultation": 3, "tip": 5}


def seed(apps, schema_editor):
    OpinionPolicy = apps.get_model("opinions", "OpinionPolicy")
    for kind, days in DAYS.items():
        OpinionPolicy.objects.get_or_create(kind=kind, defaults={"answer_days": days})


class Migration(migrations.Migration):
    dependencies = [("opinions", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

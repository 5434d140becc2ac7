"""The moved models' content types follow them (portal.officercard → directory.officercard …),
so the admin's history of a card and any permission rows stay attached to it. A database that
never had them (a new one) has nothing to move: content types are made after migrating."""

from django.db import migrations

MOVED = {
    'otpchallenge': 'verification',
    'otplock': 'verification',
    'throttlehit': 'verification',
    'officercard': 'directory',
    'cardscandaily': 'directory',
}


def _relabel(apps, pairs):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    for model, (old, new) in pairs.items():
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    _relabel(apps, {model: ('portal', app) for model, app in MOVED.items()})


def backwards(apps, schema_editor):
    _relabel(apps, {model: (app, 'portal') for model, app in MOVED.items()})


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('portal', '0002_models_moved_out'),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

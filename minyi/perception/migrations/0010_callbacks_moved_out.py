# Callback, CallbackAttempt and CallbackEvent moved to the callbacks app with their tables
# (perception_callback…) and rows: perception forgets them in Django's state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("perception", "0009_callback_notes_encrypt_rows"),
        ("callbacks", "0001_moved_from_perception"),
        ("workorders", "0004_callback_in_callbacks_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CallbackEvent"),
                migrations.DeleteModel(name="CallbackAttempt"),
                migrations.DeleteModel(name="Callback"),
            ],
            database_operations=[],
        ),
    ]

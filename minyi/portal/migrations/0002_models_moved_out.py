"""The one-time SMS codes went to minyi.verification and the officer cards to minyi.directory
(their 0001), with their tables: the portal forgets the models in its state only, and no SQL
touches the tables."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0001_initial'),
        ('verification', '0001_initial'),
        ('directory', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='OtpChallenge'),
                migrations.DeleteModel(name='OtpLock'),
                migrations.DeleteModel(name='ThrottleHit'),
                migrations.DeleteModel(name='CardScanDaily'),
                migrations.DeleteModel(name='OfficerCard'),
            ],
        ),
    ]

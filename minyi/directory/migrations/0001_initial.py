"""OfficerCard and CardScanDaily move here from the citizen portal app with their data: state
only, the tables keep their names (db_table portal_*). portal 0002 forgets them."""

import django.db.models.deletion
import minyi.directory.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('orgs', '0002_api_keys'),
        ('portal', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # State only: the tables stay where they are, under their old names.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='OfficerCard',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(default=minyi.directory.models.new_card_code, max_length=16, unique=True, verbose_name='二维码编号')),
                        ('photo', models.FileField(blank=True, upload_to='officer-photos/', verbose_name='照片')),
                        ('photo_type', models.CharField(blank=True, max_length=20)),
                        ('officer', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='card', to='orgs.officer', verbose_name='民警')),
                    ],
                    options={
                        'verbose_name': '民警信息卡',
                        'verbose_name_plural': '民警信息卡',
                        'db_table': 'portal_officercard',
                    },
                ),
                migrations.CreateModel(
                    name='CardScanDaily',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('scans', models.PositiveIntegerField(default=0)),
                        ('officer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orgs.officer')),
                        ('unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orgs.orgunit')),
                    ],
                    options={
                        'db_table': 'portal_cardscandaily',
                        'constraints': [models.UniqueConstraint(condition=models.Q(('officer__isnull', False)), fields=('officer', 'day'), name='cardscan_officer_day_unique'), models.UniqueConstraint(condition=models.Q(('officer__isnull', True)), fields=('unit', 'day'), name='cardscan_unit_day_unique')],
                    },
                ),
            
            ],
        ),
    ]

"""OtpChallenge, OtpLock and ThrottleHit move here from the citizen portal app with their data:
state only, the tables keep their names (db_table portal_*). portal 0002 forgets them."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # State only: the tables stay where they are, under their old names.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='OtpLock',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('mobile_hash', models.CharField(max_length=64, unique=True)),
                        ('failures', models.PositiveSmallIntegerField(default=0)),
                        ('locks', models.PositiveSmallIntegerField(default=0)),
                        ('locked_until', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'verbose_name': '验证码锁定',
                        'verbose_name_plural': '验证码锁定',
                        'db_table': 'portal_otplock',
                    },
                ),
                migrations.CreateModel(
                    name='OtpChallenge',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('mobile_hash', models.CharField(max_length=64)),
                        ('purpose', models.CharField(choices=[('opinion_submit', '提交留言'), ('opinion_lookup', '查询留言'), ('case_lookup', '查询案件进度')], max_length=20, verbose_name='用途')),
                        ('subject', models.CharField(blank=True, max_length=64)),
                        ('code_hash', models.CharField(max_length=64)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField()),
                        ('used_at', models.DateTimeField(blank=True, null=True)),
                        ('failed_attempts', models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={
                        'verbose_name': '短信验证码',
                        'verbose_name_plural': '短信验证码',
                        'db_table': 'portal_otpchallenge',
                        'indexes': [models.Index(fields=['mobile_hash', 'created_at'], name='otp_mobile_idx'), models.Index(fields=['ip', 'created_at'], name='otp_ip_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='ThrottleHit',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scope', models.CharField(max_length=30)),
                        ('key', models.CharField(max_length=64)),
                        ('at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'portal_throttlehit',
                        'indexes': [models.Index(fields=['scope', 'key', 'at'], name='throttle_idx')],
                    },
                ),
            
            ],
        ),
    ]

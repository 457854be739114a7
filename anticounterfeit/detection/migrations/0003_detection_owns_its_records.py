# Detection, DetectionPolicy and BankVersion move into the detection app. Only Django's model state moves:
# the tables keep their names (db_table), so no row is touched. The old apps drop the models from their
# state in their own migrations, after this one.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0003_brand_portal'),
        ('core', '0002_outbox'),
        ('detection', '0002_brand_policy_and_allow_rules'),
        ('listings', '0005_detection_followup_pending'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DetectionPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('review_threshold', models.FloatField()),
                        ('high_priority_threshold', models.FloatField()),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={'db_table': 'core_detectionpolicy'},
                ),
                migrations.CreateModel(
                    name='Detection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('score', models.FloatField()),
                        ('signals', models.JSONField(default=dict)),
                        ('explanation', models.JSONField(default=list)),
                        ('matches', models.JSONField(default=list)),
                        ('errors', models.JSONField(default=list)),
                        ('image_text', models.JSONField(blank=True, default=dict)),
                        ('model_version', models.CharField(max_length=80)),
                        ('bank_version', models.PositiveIntegerField(default=0)),
                        ('followup_pending', models.BooleanField(default=False)),
                        ('brand', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='catalog.brand')),
                        ('listing', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='detections', to='listings.listing')),
                    ],
                    options={
                        'db_table': 'listings_detection',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(condition=models.Q(('followup_pending', True)), fields=['created_at'],
                                                 name='detection_followup_pending')],
                    },
                ),
                migrations.CreateModel(
                    name='BankVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField(unique=True)),
                        ('path', models.CharField(max_length=500)),
                        ('counts', models.JSONField(default=dict)),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={'db_table': 'catalog_bankversion', 'ordering': ['-number']},
                ),
            ],
            database_operations=[],
        ),
    ]

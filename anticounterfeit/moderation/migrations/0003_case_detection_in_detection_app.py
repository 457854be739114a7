# Case.detection now points at detection.Detection: the same table (listings_detection), so state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0003_detection_owns_its_records'),
        ('moderation', '0002_case_recency_priority'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='detection',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            to='detection.detection'),
                ),
            ],
            database_operations=[],
        ),
    ]

# DetectionPolicy moved to the detection app (same table); this drops it from the core app's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_outbox'),
        ('detection', '0003_detection_owns_its_records'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='DetectionPolicy')],
                                            database_operations=[]),
    ]

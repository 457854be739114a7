# Detection moved to the detection app (same table); this drops it from the listings app's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0003_detection_owns_its_records'),
        ('listings', '0005_detection_followup_pending'),
        ('moderation', '0003_case_detection_in_detection_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='Detection')],
                                            database_operations=[]),
    ]

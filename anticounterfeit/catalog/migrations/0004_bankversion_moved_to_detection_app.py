# BankVersion moved to the detection app (same table); this drops it from the catalog app's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0003_brand_portal'),
        ('detection', '0003_detection_owns_its_records'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='BankVersion')],
                                            database_operations=[]),
    ]

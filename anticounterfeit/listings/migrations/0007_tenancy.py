"""Tenancy, step 1 of 3: the tenant and onboarding-record columns, nullable.

Each step is its own transaction: PostgreSQL refuses to alter a table with row updates pending in
the same transaction."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0003_default_tenant'),
        ('listings', '0006_detection_moved_to_detection_app'),
    ]

    operations = [
        migrations.AddField(
            model_name='seller',
            name='client',
            field=models.ForeignKey(null=True, on_delete=models.deletion.PROTECT, related_name='sellers',
                                    to='api.marketplaceclient'),
        ),
        migrations.AddField(
            model_name='seller',
            name='onboarded_takedowns',
            field=models.PositiveIntegerField(default=0),
        ),
    ]

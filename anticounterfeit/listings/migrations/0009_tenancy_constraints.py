"""Tenancy, step 3 of 3: seller ids unique per tenant; every seller and listing has one.

Each step is its own transaction: PostgreSQL refuses to alter a table with row updates pending in
the same transaction."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('listings', '0008_tenancy_data'),
    ]

    operations = [
        migrations.AlterField(
            model_name='seller',
            name='client',
            field=models.ForeignKey(on_delete=models.deletion.PROTECT, related_name='sellers',
                                    to='api.marketplaceclient'),
        ),
        migrations.AlterField(
            model_name='seller',
            name='seller_key',
            field=models.CharField(max_length=64, verbose_name='seller id'),
        ),
        migrations.AddConstraint(
            model_name='seller',
            constraint=models.UniqueConstraint(fields=('client', 'seller_key'), name='uniq_seller_per_client'),
        ),
        migrations.AlterField(
            model_name='listing',
            name='client',
            field=models.ForeignKey(on_delete=models.deletion.PROTECT, to='api.marketplaceclient'),
        ),
    ]

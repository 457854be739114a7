"""Tenancy: the default tenant is a client without an API user (rows that came in without a client)."""
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('api', '0002_webhook_secret_version'),
    ]

    operations = [
        migrations.AlterField(
            model_name='marketplaceclient',
            name='user',
            field=models.OneToOneField(blank=True, null=True, on_delete=models.deletion.CASCADE,
                                       related_name='marketplace_client', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='marketplaceclient',
            name='is_default',
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddConstraint(
            model_name='marketplaceclient',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',),
                                               name='one_default_tenant'),
        ),
    ]

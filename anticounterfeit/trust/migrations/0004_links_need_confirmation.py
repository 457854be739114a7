"""Seller links are evidence to review, not strikes: existing links become suggestions, and the ``linked_seller``
events they wrote are reversed (run ``manage.py recompute_trust`` after migrating to refresh stored ratings)."""
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def reverse_unconfirmed_link_events(apps, schema_editor):
    TrustEvent = apps.get_model("trust", "TrustEvent")
    for event in TrustEvent.objects.filter(kind="linked_seller", reversed_by__isnull=True):
        TrustEvent.objects.create(seller_id=event.seller_id, kind="link_removed", reverses=event,
                                  occurred_at=timezone.now(), note="link not confirmed by a moderator")


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('listings', '0009_tenancy_constraints'),
        ('trust', '0003_clean_sales_reports_account_age'),
    ]

    operations = [
        migrations.AddField(
            model_name='sellerlink',
            name='state',
            field=models.CharField(choices=[('suggested', 'Shared image, to review'),
                                            ('confirmed', 'Link confirmed by a moderator'),
                                            ('dismissed', 'Not linked (dismissed)')],
                                   db_index=True, default='suggested', max_length=10),
        ),
        migrations.AddField(
            model_name='sellerlink',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='sellerlink',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=models.deletion.SET_NULL, related_name='+',
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='SellerIdentityLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('note', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('linked_by', models.ForeignKey(null=True, on_delete=models.deletion.SET_NULL, related_name='+',
                                                to=settings.AUTH_USER_MODEL)),
                ('other', models.ForeignKey(on_delete=models.deletion.CASCADE, related_name='+',
                                            to='listings.seller')),
                ('seller', models.ForeignKey(on_delete=models.deletion.CASCADE, related_name='identity_links',
                                             to='listings.seller')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [
                    models.UniqueConstraint(fields=('seller', 'other'), name='uniq_seller_identity_link'),
                    models.CheckConstraint(condition=models.Q(('seller', models.F('other')), _negated=True),
                                           name='identity_link_two_sellers'),
                ],
            },
        ),
        migrations.RunPython(reverse_unconfirmed_link_events, migrations.RunPython.noop),
    ]

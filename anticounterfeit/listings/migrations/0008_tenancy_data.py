"""Tenancy: every seller belongs to the marketplace client that registered it; seller ids are unique per client.

Existing sellers move to the one client that sent their listings, or to the default tenant (no client, or several);
listings without a client move to the default tenant. ``prior_takedowns`` becomes the onboarding record
(``onboarded_takedowns``) plus the confirmed takedowns in force.
"""
from django.db import migrations
from django.db.models import Count

STRIKES = ("takedown", "brand_removal")


def forwards(apps, schema_editor):
    Client = apps.get_model("api", "MarketplaceClient")
    Seller = apps.get_model("listings", "Seller")
    Listing = apps.get_model("listings", "Listing")
    TrustEvent = apps.get_model("trust", "TrustEvent")
    if not Seller.objects.exists() and not Listing.objects.exists():
        return
    default = Client.objects.filter(is_default=True).first() or Client.objects.create(name="default", is_default=True)
    Listing.objects.filter(client__isnull=True).update(client=default)
    single = (Listing.objects.values("seller_id").annotate(n=Count("client_id", distinct=True)).filter(n=1)
              .values_list("seller_id", flat=True))
    for seller_id, client_id in Listing.objects.filter(seller_id__in=list(single)).values_list(
            "seller_id", "client_id").distinct():
        Seller.objects.filter(pk=seller_id).update(client_id=client_id)
    Seller.objects.filter(client__isnull=True).update(client=default)
    reversed_ids = set(TrustEvent.objects.filter(reverses__isnull=False).values_list("reverses_id", flat=True))
    strikes = {}
    for pk, seller_id in TrustEvent.objects.filter(kind__in=STRIKES).values_list("pk", "seller_id"):
        if pk not in reversed_ids:
            strikes[seller_id] = strikes.get(seller_id, 0) + 1
    for seller in Seller.objects.all():
        seller.onboarded_takedowns = seller.prior_takedowns
        seller.prior_takedowns = seller.onboarded_takedowns + strikes.get(seller.pk, 0)
        seller.save(update_fields=["onboarded_takedowns", "prior_takedowns"])


def backwards(apps, schema_editor):
    Seller = apps.get_model("listings", "Seller")
    for seller in Seller.objects.all():
        seller.prior_takedowns = seller.onboarded_takedowns
        seller.save(update_fields=["prior_takedowns"])


class Migration(migrations.Migration):

    dependencies = [
        ('listings', '0007_tenancy'),
        ('trust', '0003_clean_sales_reports_account_age'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]

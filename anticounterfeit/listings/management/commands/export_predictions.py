import json

from django.core.management.base import BaseCommand

from anticounterfeit.listings.models import Listing


class Command(BaseCommand):
    help = 'Write {"listing_id","score","brand_id"} per scanned listing (the benchmark prediction format).'

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)

    def handle(self, out, **options):
        rows = Listing.objects.filter(score__isnull=False).select_related("matched_brand").order_by("listing_key")
        n = 0
        with open(out, "w", encoding="utf-8") as handle:
            for listing in rows.iterator():
                brand = listing.matched_brand.brand_key if listing.matched_brand else None
                handle.write(json.dumps({"listing_id": listing.listing_key, "score": round(listing.score, 6),
                                         "brand_id": brand}) + "\n")
                n += 1
        self.stdout.write(f"wrote {n} predictions to {out}")

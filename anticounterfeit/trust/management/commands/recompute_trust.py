from django.core.management.base import BaseCommand

from anticounterfeit.listings.models import Seller
from anticounterfeit.trust.actions import refresh_rating, takedowns_from_history


class Command(BaseCommand):
    help = "Recompute sellers' trust ratings (and takedown counts) from their TrustEvent history."

    def add_arguments(self, parser):
        parser.add_argument("--seller", help="seller id (seller_key); all sellers when omitted")
        parser.add_argument("--tenant", help="marketplace client name: only its sellers")

    def handle(self, seller=None, tenant=None, **options):
        sellers = Seller.objects.all()
        if seller:
            sellers = sellers.filter(seller_key=seller)
        if tenant:
            sellers = sellers.filter(client__name=tenant)
        changed = 0
        for item in sellers.iterator():
            before = item.trust_rating
            rating = refresh_rating(item)
            takedowns = takedowns_from_history(item)
            if takedowns != item.prior_takedowns:
                Seller.objects.filter(pk=item.pk).update(prior_takedowns=takedowns)
            changed += int(rating.score != before or takedowns != item.prior_takedowns)
        self.stdout.write(f"recomputed {sellers.count()} seller(s); {changed} changed")

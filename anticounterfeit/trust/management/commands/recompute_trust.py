from django.core.management.base import BaseCommand

from anticounterfeit.listings.models import Seller
from anticounterfeit.trust.actions import refresh_rating


class Command(BaseCommand):
    help = "Recompute sellers' trust ratings from their TrustEvent history."

    def add_arguments(self, parser):
        parser.add_argument("--seller", help="seller id (seller_key); all sellers when omitted")

    def handle(self, seller=None, **options):
        sellers = Seller.objects.all()
        if seller:
            sellers = sellers.filter(seller_key=seller)
        changed = 0
        for item in sellers.iterator():
            before = item.trust_rating
            rating = refresh_rating(item)
            changed += int(rating.score != before)
        self.stdout.write(f"recomputed {sellers.count()} seller(s); {changed} changed")

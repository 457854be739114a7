"""One command for a first run: migrate, generate demo data, import, scan, create accounts, print logins."""
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_PASSWORD = "demo-pass-123"


class Command(BaseCommand):
    help = "Set up the demo: demo bundle → import catalog → scan listings through the workers → demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(settings.VAR_DIR / "demo-bundle"))
        parser.add_argument("--listings", type=int, default=80)
        parser.add_argument("--brands", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, out, listings, brands, seed, **options):
        from anticounterfeit.listings.models import Listing

        call_command("migrate", verbosity=0)
        bundle = Path(out)
        if not (bundle / "listings.jsonl").exists():
            call_command("make_demo_data", str(bundle), listings=listings, brands=brands, seed=seed)
        call_command("import_catalog", str(bundle))
        if not Listing.objects.exists():
            call_command("ingest_listings", str(bundle / "listings.jsonl"), wait=True)
        self.create_accounts()

    def create_accounts(self) -> None:
        from rest_framework.authtoken.models import Token

        from anticounterfeit.accounts.actions import create_user_with_role
        from anticounterfeit.accounts.models import Role
        from anticounterfeit.api.models import MarketplaceClient
        from anticounterfeit.catalog.models import Brand
        from anticounterfeit.listings.models import Listing, Seller
        from anticounterfeit.moderation.models import Case

        create_user_with_role("moderator", DEMO_PASSWORD, Role.MODERATOR)
        create_user_with_role("lead", DEMO_PASSWORD, Role.LEAD)
        create_user_with_role("admin", DEMO_PASSWORD, Role.ADMIN)
        flagged = Case.objects.open().select_related("listing__matched_brand", "listing__seller").order_by("-priority").first()
        brand = flagged.listing.matched_brand if flagged and flagged.listing.matched_brand else Brand.objects.first()
        seller = flagged.listing.seller if flagged else Seller.objects.filter(listings__isnull=False).first()
        if seller and not seller.email:
            seller.email = f"{seller.seller_key}@sellers.example"
            seller.save(update_fields=["email"])
        create_user_with_role("brand", DEMO_PASSWORD, Role.BRAND_OWNER, brands=[brand] if brand else [])
        create_user_with_role("seller", DEMO_PASSWORD, Role.SELLER, seller=seller)
        api_user = create_user_with_role("marketplace", DEMO_PASSWORD, Role.API_CLIENT)
        MarketplaceClient.objects.get_or_create(user=api_user, defaults={"name": "Demo marketplace"})
        token, _ = Token.objects.get_or_create(user=api_user)
        counts = {s: Listing.objects.filter(status=s).count() for s in Listing.Status.values}
        self.stdout.write(self.style.SUCCESS("\nDemo ready."))
        self.stdout.write(f"Listings by status: {counts}; open cases: {Case.objects.open().count()}")
        self.stdout.write(f"Logins (password '{DEMO_PASSWORD}'):")
        self.stdout.write("  moderator  — moderation console (queue, case page, take down / dismiss)")
        self.stdout.write("  lead       — escalations and appeals")
        self.stdout.write(f"  brand      — brand portal for {brand.name if brand else '-'}")
        self.stdout.write(f"  seller     — seller center for {seller.name if seller else '-'}")
        self.stdout.write("  admin      — everything, plus /admin/")
        self.stdout.write(f"API token for the demo marketplace: {token.key}")

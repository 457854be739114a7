"""One command for a first run: migrate, generate the bundle, import it, replay weeks of history, print logins."""
import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from anticounterfeit.accounts.actions import create_user_with_role
from anticounterfeit.accounts.models import Profile, Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.models import Brand
from anticounterfeit.core import queue
from anticounterfeit.core.demo_history import Cast, HistoryConfig, replay
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation.models import Appeal, Case
from anticounterfeit.notifications.models import WebhookDelivery
from anticounterfeit.trust.models import RestrictionReview

DEMO_PASSWORD = "demo-pass-123"
MODERATORS = ["moderator", "alex", "sam"]  # "moderator" is the demo's login; the others decided the past


class Command(BaseCommand):
    help = ("Set up the demo: demo bundle → import catalog → weeks of listings, decisions, reports, appeals and "
            "webhooks replayed through the actions (deterministic by seed) → demo logins.")

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(settings.VAR_DIR / "demo-bundle"))
        parser.add_argument("--listings", type=int, default=80)
        parser.add_argument("--brands", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--days", type=int, default=42, help="How many days of history to replay.")

    def handle(self, out, listings, brands, seed, days, **options):

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        if Listing.objects.exists():
            self.stdout.write("The demo database has listings already: keeping its history "
                              f"(delete {settings.VAR_DIR / 'db.sqlite3'} for a fresh demo).")
            self.print_logins()
            return
        if not settings.EMBEDDED_MODE:
            raise CommandError("the demo runs in the embedded mode: unset CELERY_BROKER_URL and REDIS_URL")
        bundle = Path(out)
        if not (bundle / "listings.jsonl").exists():
            call_command("make_demo_data", str(bundle), listings=listings, brands=brands, seed=seed)
        end = timezone.now()
        with time_machine.travel(end - timedelta(days=days + 1), tick=False):
            call_command("import_catalog", str(bundle))
            queue.wait_until_idle()  # the catalog's first bank is built at that moment too
            cast = self.create_cast(bundle)
        self.stdout.write(f"replaying {days} days of history…")
        summary = replay(bundle, cast, HistoryConfig(days=days, seed=seed, end=end))
        self.stdout.write(f"history: {dict(sorted(summary.counts.items()))}, "
                          f"{summary.refused_listings} listing(s) of restricted sellers refused")
        self.create_seller_login()
        self.stdout.write(f"demo set up in {time.monotonic() - started:.0f} s")
        self.print_logins()

    def create_cast(self, bundle: Path):
        """Staff, the marketplace, and owners for the two brands with the most counterfeits (they report them)."""

        moderators = [create_user_with_role(name, DEMO_PASSWORD, Role.MODERATOR) for name in MODERATORS]
        lead = create_user_with_role("lead", DEMO_PASSWORD, Role.LEAD)
        admin = create_user_with_role("admin", DEMO_PASSWORD, Role.ADMIN)
        api_user = create_user_with_role("marketplace", DEMO_PASSWORD, Role.API_CLIENT)
        client, _ = MarketplaceClient.objects.get_or_create(user=api_user, defaults={"name": "Demo marketplace"})
        fakes = Counter(r["brand_id"] for r in map(json.loads, (bundle / "labels.jsonl").read_text().splitlines())
                        if r.get("counterfeit") and r.get("brand_id"))
        owners = {}
        for n, (brand_key, _) in enumerate(sorted(fakes.items(), key=lambda kv: (-kv[1], kv[0]))[:2]):
            brand = Brand.objects.get(brand_key=brand_key)
            owners[brand.pk] = create_user_with_role("brand" if n == 0 else f"brand-{n + 1}", DEMO_PASSWORD,
                                                     Role.BRAND_OWNER, brands=[brand])
        return Cast(moderators=moderators, leads=[lead], admin=admin, brand_owners=owners, client=client)

    def create_seller_login(self) -> None:
        """The seller login belongs to the seller with the most to see: a restriction review, else the most events."""
        from django.db.models import Count


        review = RestrictionReview.objects.filter(state=RestrictionReview.State.OPEN).order_by("-opened_at").first()
        seller = review.seller if review else (Seller.objects.annotate(n=Count("trust_events")).order_by("-n", "pk")
                                               .first())
        if seller is None:
            return
        email = f"{seller.seller_key.lower()}@sellers.example"
        create_user_with_role("seller", DEMO_PASSWORD, Role.SELLER, seller=seller, email=email)

    def print_logins(self) -> None:
        from rest_framework.authtoken.models import Token


        brand = Brand.objects.filter(owners__user__username="brand").first()
        seller_profile = Profile.objects.filter(user__username="seller").select_related("seller").first()
        seller = seller_profile.seller if seller_profile else None
        token = Token.objects.filter(user__username="marketplace").first()
        open_cases = Case.objects.open().count()
        escalated = Case.objects.filter(state=Case.State.ESCALATED).count()
        appeals = Appeal.objects.filter(status=Appeal.Status.OPEN).count()
        reviews = RestrictionReview.objects.filter(state=RestrictionReview.State.OPEN).count()
        failed = WebhookDelivery.objects.filter(status__in=["failed", "abandoned"]).count()
        self.stdout.write(self.style.SUCCESS("\nDemo ready."))
        self.stdout.write(f"Logins (password '{DEMO_PASSWORD}') and what to try first:")
        self.stdout.write(f"  moderator  — the queue ({open_cases} open cases): open the top case and press t to take "
                          "it down; the answer is immediate, the seller notice and bank update follow on the page")
        self.stdout.write(f"  lead       — {escalated} escalated case(s), {appeals} open appeal(s) at /console/appeals/, "
                          f"{reviews} restriction review(s) at /trust/restrictions/; the dashboard at /console/dashboard/")
        if brand is not None:
            state = "has earned self-service removal" if brand.self_service else "is working towards self-service removal"
            self.stdout.write(f"  brand      — brand portal for {brand.name}, which {state}: see its accuracy panel, "
                              "then report a listing from /brand/matches/")
        if seller is not None:
            self.stdout.write(f"  seller     — seller center for {seller.name} (trust rating {seller.trust_rating}, {seller.trust_tier}): "
                              "the rating history, the notices, and an appeal against a takedown")
        self.stdout.write(f"  marketplace — the webhook log ({failed} failed or abandoned deliveries): retry one")
        self.stdout.write("  admin      — everything, plus /admin/ (outbox, scorer versions, audit log)")
        if token is not None:
            self.stdout.write(f"API token for the demo marketplace: {token.key}")

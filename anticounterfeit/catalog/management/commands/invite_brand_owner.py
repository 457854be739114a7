"""An admin invites a brand owner: one account may manage several brands (``--brand`` repeated)."""
import secrets

from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.accounts.actions import create_user_with_role
from anticounterfeit.accounts.models import Role
from anticounterfeit.catalog.models import Brand


class Command(BaseCommand):
    help = "Create (or update) a brand-owner account for one or more brands and print a one-time password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--brand", action="append", required=True, help="brand id (brand_key); repeat for several")

    def handle(self, username, email, brand, **options):
        brands = list(Brand.objects.filter(brand_key__in=brand))
        missing = set(brand) - {b.brand_key for b in brands}
        if missing:
            raise CommandError(f"unknown brand id(s): {', '.join(sorted(missing))}")
        password = secrets.token_urlsafe(12)
        create_user_with_role(username, password, Role.BRAND_OWNER, brands=brands, email=email)
        self.stdout.write(f"{username} manages {', '.join(b.name for b in brands)}; one-time password: {password}")

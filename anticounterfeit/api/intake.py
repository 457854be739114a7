"""Turning validated intake data into an accepted listing (shared by the API and ``ingest_listings``).

Ids are resolved inside the caller's tenant only. The seller (when new), its onboarding trust event and the
listing commit in one transaction: a duplicate listing id, a restricted seller or a storage fault leaves nothing
behind, however many requests race.
"""
from django.db import IntegrityError, transaction

from anticounterfeit.listings.actions import accept_listing
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.trust.actions import onboard_seller_history

from .models import MarketplaceClient, default_tenant


class IntakeRejected(Exception):
    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


class DuplicateListing(IntakeRejected):
    """The tenant already sent this listing id (the API answers 409)."""

    def __init__(self, listing_key: str):
        super().__init__({"listing_id": [f"listing '{listing_key}' was already submitted"]})


def seller_in_tenant(tenant: MarketplaceClient, data: dict) -> Seller:
    """The tenant's seller with this id, created (with its onboarding event) in the caller's transaction if new."""

    seller, created = Seller.objects.get_or_create(
        client=tenant, seller_key=data["seller_id"],
        defaults={"name": data.get("seller_name") or data["seller_id"], "email": data.get("seller_email") or ""},
    )
    if created:
        onboard_seller_history(seller)
    return seller


def accept_validated(data: dict, *, client: MarketplaceClient | None = None, acting_user=None,
                     enqueue: bool = True) -> Listing:
    """Create the seller if new, then accept the listing, all or nothing. ``client`` None = the default tenant.
    Raises IntakeRejected with field errors (DuplicateListing for a listing id the tenant already sent)."""
    tenant = client or default_tenant()
    if Listing.objects.of_tenant(tenant).filter(listing_key=data["listing_id"]).exists():
        raise DuplicateListing(data["listing_id"])
    try:
        with transaction.atomic():
            seller = seller_in_tenant(tenant, data)
            if seller.restricted:
                raise IntakeRejected({"seller_id": [f"seller '{seller.seller_key}' is restricted: new listings are "
                                                    "blocked until a lead lifts the restriction"]})
            return accept_listing(
                client=tenant, seller=seller, listing_key=data["listing_id"], title=data["title"],
                description=data.get("description", ""), price=data.get("price"), currency=data.get("currency", "USD"),
                images=[(img["filename"], img["data"]) for img in data.get("images", [])], acting_user=acting_user,
                enqueue=enqueue,
            )
    except IntegrityError as exc:  # another request committed the same listing id first: everything rolled back
        if Listing.objects.of_tenant(tenant).filter(listing_key=data["listing_id"]).exists():
            raise DuplicateListing(data["listing_id"]) from exc
        raise

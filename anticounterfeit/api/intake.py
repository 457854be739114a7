"""Turning validated intake data into an accepted listing (shared by the API and ``ingest_listings``)."""
from django.db import IntegrityError, transaction

from anticounterfeit.listings.actions import accept_listing
from anticounterfeit.listings.models import Listing, Seller


class IntakeRejected(Exception):
    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


def accept_validated(data: dict, *, client=None, acting_user=None, enqueue: bool = True) -> Listing:
    """Create the seller if new, then accept the listing. Raises IntakeRejected with field errors."""
    from anticounterfeit.trust.actions import onboard_seller_history

    if Listing.objects.filter(client=client, listing_key=data["listing_id"]).exists():
        raise IntakeRejected({"listing_id": [f"listing '{data['listing_id']}' was already submitted"]})
    seller, created = Seller.objects.get_or_create(
        seller_key=data["seller_id"],
        defaults={"name": data.get("seller_name") or data["seller_id"], "email": data.get("seller_email") or ""},
    )
    if created:
        onboard_seller_history(seller)
    if seller.restricted:
        raise IntakeRejected({"seller_id": [f"seller '{seller.seller_key}' is restricted: new listings are blocked "
                                            "until a lead lifts the restriction"]})
    try:
        with transaction.atomic():
            return accept_listing(
                client=client, seller=seller, listing_key=data["listing_id"], title=data["title"],
                description=data.get("description", ""), price=data.get("price"), currency=data.get("currency", "USD"),
                images=[(img["filename"], img["data"]) for img in data.get("images", [])], acting_user=acting_user,
                enqueue=enqueue,
            )
    except IntegrityError as exc:
        raise IntakeRejected({"listing_id": [f"listing '{data['listing_id']}' was already submitted"]}) from exc

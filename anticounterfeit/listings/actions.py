"""The only place where a listing's state changes. Each change writes an AuditEvent."""
import hashlib
import logging
from collections.abc import Sequence
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction

from anticounterfeit.core import audit, queue, tasks

from .models import Listing, ListingImage, Seller

log = logging.getLogger(__name__)
S = Listing.Status

ALLOWED = {
    S.PENDING: {S.CLEAR, S.IN_REVIEW},
    S.CLEAR: {S.IN_REVIEW, S.REMOVED},
    S.IN_REVIEW: {S.REMOVED, S.CLEARED},
    S.CLEARED: {S.IN_REVIEW, S.REMOVED},
    S.REMOVED: {S.REINSTATED},
    S.REINSTATED: {S.IN_REVIEW, S.REMOVED},
}


class InvalidTransition(Exception):
    pass


def set_status(listing: Listing, new_status: str, *, acting_user=None, reason: str = "",
               also_save: Sequence[str] = ()) -> Listing:
    """Move the listing (audited). ``also_save``: other fields the caller changed, written in the same UPDATE."""
    if listing.status == new_status:
        if also_save:
            listing.save(update_fields=[*also_save, "updated_at"])
        return listing
    if new_status not in ALLOWED.get(listing.status, set()):
        raise InvalidTransition(f"listing {listing.listing_key}: cannot go from {listing.status} to {new_status}")
    before = listing.status
    listing.status = new_status
    listing.save(update_fields=["status", *also_save, "updated_at"])
    audit.record("listing.status", listing, actor=acting_user, before={"status": before},
                 after={"status": new_status, "reason": reason})
    return listing


@transaction.atomic
def accept_listing(*, client, seller: Seller, listing_key: str, title: str, description: str, price: Decimal | None,
                   currency: str, images: list[tuple[str, bytes]], acting_user=None, enqueue: bool = True) -> Listing:
    """Commit the listing and its images, then queue the scan once the transaction is durable.

    Bulk callers pass ``enqueue=False`` and queue ``scan_batch`` themselves after their commits.
    """
    if seller.restricted:
        raise PermissionError(f"seller {seller.seller_key} is restricted and cannot publish listings")
    if seller.client_id != client.pk:
        raise ValueError(f"seller {seller.seller_key} belongs to another tenant")
    listing = Listing.objects.create(
        client=client, seller=seller, listing_key=listing_key, title=title, description=description,
        price=price, currency=currency,
    )
    for position, (name, data) in enumerate(images):
        image = ListingImage(listing=listing, position=position, sha256=hashlib.sha256(data).hexdigest())
        image.image.save(f"{listing_key}-{position}-{name}"[-90:], ContentFile(data), save=False)
        image.save()
    audit.record("listing.accept", listing, actor=acting_user, after={"images": len(images)})
    if enqueue:
        queue.enqueue(tasks.SCAN_LISTING, listing.pk)
    return listing

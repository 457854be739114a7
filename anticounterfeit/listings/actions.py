"""The only place where a listing's state changes. Each change writes an AuditEvent."""
import hashlib
import logging
from decimal import Decimal

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction

from anticounterfeit.core import audit
from anticounterfeit.core.models import DetectionPolicy

from .models import Detection, Listing, ListingImage, Seller

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


def set_status(listing: Listing, new_status: str, *, acting_user=None, reason: str = "") -> Listing:
    if listing.status == new_status:
        return listing
    if new_status not in ALLOWED.get(listing.status, set()):
        raise InvalidTransition(f"listing {listing.listing_key}: cannot go from {listing.status} to {new_status}")
    before = listing.status
    listing.status = new_status
    listing.save(update_fields=["status", "updated_at"])
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
    listing = Listing.objects.create(
        client=client, seller=seller, listing_key=listing_key, title=title, description=description,
        price=price, currency=currency,
    )
    for position, (name, data) in enumerate(images):
        image = ListingImage(listing=listing, position=position, sha256=hashlib.sha256(data).hexdigest())
        image.image.save(f"{listing_key}-{position}-{name}"[-90:], ContentFile(data), save=False)
        image.save()
    audit.record("listing.accept", listing, actor=acting_user, after={"images": len(images)})
    from workers.enqueue import enqueue_on_commit
    from workers.scan import scan_listing

    enqueue_on_commit(scan_listing, listing.pk)
    return listing


@transaction.atomic
def record_detection(listing_id: int, result, *, bank_version: int) -> Detection | None:
    """Store a scan result and move the listing: pending → clear | in_review (opening a case).

    Idempotent: a listing already scanned against this bank version is left alone, and an open case is
    updated rather than duplicated.
    """
    from anticounterfeit.catalog.models import Brand
    from anticounterfeit.detection.actions import allow_rule_for
    from anticounterfeit.moderation.actions import open_or_update_case

    listing = Listing.objects.select_for_update().filter(pk=listing_id).first()
    if listing is None:
        return None
    if listing.status != S.PENDING and listing.detections.filter(bank_version=bank_version).exists():
        return listing.detections.filter(bank_version=bank_version).first()
    brand = Brand.objects.filter(brand_key=result.brand_id).first() if result.brand_id else None
    detection = Detection.objects.create(
        listing=listing, score=float(result.score), brand=brand, signals=result.signals,
        explanation=result.explanation, matches=[_match_json(m) for m in result.matches], errors=result.errors,
        model_version=result.model_version, bank_version=bank_version,
    )
    images = list(listing.images.all())
    vectors = np.asarray(result.image_vectors, dtype=np.float32) if result.image_vectors is not None else None
    for image in images:
        if vectors is not None and image.position < len(vectors):
            image.vector = vectors[image.position].tobytes()
        if image.position < len(result.pdq_hashes):
            image.pdq = result.pdq_hashes[image.position] or ""
        image.save(update_fields=["vector", "pdq"])
    listing.score, listing.matched_brand = detection.score, brand
    listing.save(update_fields=["score", "matched_brand", "updated_at"])

    rule = allow_rule_for(listing, detection)
    if rule is not None:  # a moderator already confirmed this seller × reference (or image) is genuine
        if listing.status == S.PENDING:
            set_status(listing, S.CLEAR, reason=f"allowed by rule #{rule.pk} ({rule})")
        return detection
    threshold = review_threshold_for(listing)
    if detection.score >= threshold and listing.status in {S.PENDING, S.CLEAR, S.IN_REVIEW}:
        open_or_update_case(listing, detection)
        set_status(listing, S.IN_REVIEW, reason=f"score {detection.score:.2f} ≥ {threshold:.2f}")
    elif listing.status == S.PENDING:
        set_status(listing, S.CLEAR, reason=f"score {detection.score:.2f} < {threshold:.2f}")
    return detection


def review_threshold_for(listing: Listing) -> float:
    """The brand's override or the policy threshold, nudged by the seller's trust tier (never enough to hide a strong match)."""
    from anticounterfeit.detection.actions import brand_review_threshold

    threshold = brand_review_threshold(listing.matched_brand)
    if threshold is None:
        threshold = DetectionPolicy.current().review_threshold
    adjust = {"restricted": -0.15, "poor": -0.1, "fair": -0.03, "excellent": 0.05}.get(listing.seller.trust_tier, 0.0)
    # The tier may raise the bar up to 0.8 (never hiding a strong match); a threshold set above that stays as set.
    return min(max(threshold + adjust, 0.05), max(threshold, 0.8))


def _match_json(match) -> dict:
    return {
        "kind": match.kind, "ref_id": match.ref_id, "brand_id": match.brand_id, "score": round(float(match.score), 4),
        "listing_image": match.listing_image, "ref_image": match.ref_image,
        "box": list(match.box) if match.box is not None else None,
    }

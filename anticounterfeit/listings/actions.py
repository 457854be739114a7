"""The only place where a listing's state changes. Each change writes an AuditEvent."""
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q

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
        from workers.enqueue import enqueue_on_commit
        from workers.scan import scan_listing

        enqueue_on_commit(scan_listing, listing.pk)
    return listing


@dataclass(frozen=True)
class ScanBatchContext:
    """What the listings of one scan batch share, read once per batch rather than once per listing: the review
    policy, each listing's images (prefetched with the batch) and which sellers and image hashes have allow rules
    at all. ``record_detection`` reads the rest under the listing's lock; a rule or policy change that lands while
    the batch is scanned applies from the next scan, as it would a few milliseconds later without the context.
    """

    policy: DetectionPolicy
    images: dict[int, list[ListingImage]]  # listing pk -> its images by position
    sellers_with_rules: frozenset[int]
    images_with_rules: frozenset[str]

    @classmethod
    def of(cls, listings: list[Listing]) -> "ScanBatchContext":
        """For listings fetched with their images (``workers.scan.listings_for_scan``): 2 queries."""
        from anticounterfeit.detection.models import AllowRule

        images = {listing.pk: list(listing.images.all()) for listing in listings}
        shas = {image.sha256 for rows in images.values() for image in rows}
        rules = list(AllowRule.objects.filter(Q(seller_id__in={listing.seller_id for listing in listings})
                                              | Q(image_sha256__in=shas)).values_list("seller_id", "image_sha256"))
        return cls(policy=DetectionPolicy.current(), images=images,
                   sellers_with_rules=frozenset(seller for seller, _ in rules if seller is not None),
                   images_with_rules=frozenset(sha for _, sha in rules if sha))

    def may_be_allowed(self, listing: Listing, shas: list[str]) -> bool:
        return listing.seller_id in self.sellers_with_rules or not self.images_with_rules.isdisjoint(shas)


@transaction.atomic
def record_detection(listing_id: int, result, *, bank_version: int, replace: bool = False,
                     features_version: str | None = None, context: ScanBatchContext | None = None) -> Detection | None:
    """Store a scan result and move the listing: pending → clear | in_review (opening a case).

    Idempotent: a listing already scanned against this bank version is left alone, and an open case is
    updated rather than duplicated.

    ``replace=True`` is the OCR follow-up (``workers.scan.scan_ocr``): its complete result overwrites the fast
    result of the same bank version *in place* (one Detection row per listing × bank version, so the open case
    keeps pointing at it) and the threshold logic runs again; re-running it changes nothing. Listings a moderator
    already decided are left alone (the evidence behind a decision is never rewritten).

    Status only moves towards review: clear → in_review when a later result passes the threshold, never
    in_review → clear automatically (a lower score updates the case's evidence; a moderator dismisses it).
    A fast result that still waits for OCR (``result.followup_pending``) is provisional: on a listing scanned before
    it may raise ``listing.score``/``matched_brand`` but never lower them (no flicker while the follow-up runs).
    It is stored as ``Detection.followup_pending`` (so a follow-up lost to a broker outage is re-queued by the sweeper);
    the follow-up, or a follow-up that finds the listing decided, clears it.

    ``features_version`` is the ml ``Models.version`` that computed the image vectors/PDQ hashes (default: the
    first part of ``result.model_version``); it is stored with them so stale ones get recomputed for the bank.
    ``context``: what a scan batch read once for all its listings (``ScanBatchContext``).
    """
    from anticounterfeit.catalog.models import Brand
    from anticounterfeit.detection.actions import allow_rule_for
    from anticounterfeit.moderation.actions import open_or_update_case

    # The seller comes with the row (trust tier, allow rules, case priority); only the listing row is locked.
    listing = Listing.objects.select_for_update(of=("self",)).select_related("seller").filter(pk=listing_id).first()
    if listing is None:
        return None
    # This bank version's result and any still waiting for a follow-up (at most a few rows), in one query.
    current = list(listing.detections.filter(Q(bank_version=bank_version) | Q(followup_pending=True)).order_by("pk"))
    existing = next((d for d in current if d.bank_version == bank_version), None)
    if existing is not None and listing.status != S.PENDING and not replace:
        return existing
    if replace and listing.status not in {S.PENDING, S.CLEAR, S.IN_REVIEW}:
        listing.detections.filter(followup_pending=True).update(followup_pending=False)  # decided: no follow-up will land
        return existing
    brand = Brand.objects.filter(brand_key=result.brand_id).first() if result.brand_id else None
    fields = {
        "score": float(result.score), "brand": brand, "signals": result.signals, "explanation": result.explanation,
        "matches": [_match_json(m) for m in result.matches], "errors": result.errors,
        "image_text": {str(pos): text for pos, text in (result.image_text or {}).items() if text},
        "model_version": result.model_version,
    }
    # By position (the scan's image order), for the features and the allow rules.
    images = context.images[listing.pk] if context and listing.pk in context.images else list(listing.images.all())
    if replace and existing is not None:
        detection = _replace_detection(existing, fields)
    else:
        detection = Detection.objects.create(listing=listing, bank_version=bank_version, **fields,
                                             followup_pending=not replace and bool(getattr(result, "followup_pending", False)))
        _store_image_features(listing, images, result, features_version or models_version_of(result.model_version))
    # The flag is processing state, not evidence (not audited): the complete result clears it, and a newer result
    # supersedes the flag of older bank versions (the sweeper re-queues only what is still waiting). The listing
    # row lock keeps ``current`` exact: every writer of the flag holds it (or only clears the flag).
    superseded = [d.pk for d in current if d.followup_pending and (replace or d.pk != detection.pk)]
    if superseded:
        Detection.objects.filter(pk__in=superseded).update(followup_pending=False)
    changed = []  # listing fields to save, with the status change if there is one (one UPDATE)
    provisional = bool(getattr(result, "followup_pending", False)) and listing.status != S.PENDING
    if not provisional or listing.score is None or detection.score >= listing.score:
        listing.score, listing.matched_brand = detection.score, brand
        changed = ["score", "matched_brand"]

    new_status, reason = None, ""
    shas = [image.sha256 for image in images]
    rule = (allow_rule_for(listing, detection, image_sha256s=shas)
            if context is None or context.may_be_allowed(listing, shas) else None)
    if rule is not None:  # a moderator already confirmed this seller × reference (or image) is genuine
        if listing.status == S.PENDING:
            new_status, reason = S.CLEAR, f"allowed by rule #{rule.pk} ({rule})"
    else:
        policy = context.policy if context else DetectionPolicy.current()
        threshold = review_threshold_for(listing, policy)
        if detection.score >= threshold and listing.status in {S.PENDING, S.CLEAR, S.IN_REVIEW}:
            open_or_update_case(listing, detection, policy=policy)
            new_status, reason = S.IN_REVIEW, f"score {detection.score:.2f} ≥ {threshold:.2f}"
        elif listing.status == S.PENDING:
            new_status, reason = S.CLEAR, f"score {detection.score:.2f} < {threshold:.2f}"
    if new_status is not None:
        set_status(listing, new_status, reason=reason, also_save=changed)
    elif changed:
        listing.save(update_fields=[*changed, "updated_at"])
    return detection


def settle_decided_ocr_followups() -> int:
    """Clear ``followup_pending`` on listings a moderator decided (their evidence is final: no follow-up will land)."""
    return (Detection.objects.filter(followup_pending=True)
            .exclude(listing__status__in=[S.PENDING, S.CLEAR, S.IN_REVIEW]).update(followup_pending=False))


def _replace_detection(detection: Detection, fields: dict) -> Detection:
    """Overwrite a fast result with the follow-up's; audited when anything changed (the fast values are kept there)."""
    def comparable(d: dict) -> dict:
        return {**d, "brand": d["brand"].pk if d["brand"] is not None else None}

    current = comparable({name: getattr(detection, name) for name in fields})
    if current == comparable(fields):
        return detection
    for name, value in fields.items():
        setattr(detection, name, value)
    detection.save(update_fields=list(fields))
    audit.record("detection.replace", detection,
                 before={"score": current["score"], "brand": current["brand"], "signals": current["signals"]},
                 after={"score": fields["score"], "brand": comparable(fields)["brand"], "signals": fields["signals"],
                        "image_text": bool(fields["image_text"]), "reason": "OCR follow-up"})
    return detection


def models_version_of(model_version: str) -> str:
    """The ml ``Models.version`` part of a Detection's ``model_version`` ("{models}/{scorer}/{index}")."""
    return model_version.split("/", 1)[0]


def _store_image_features(listing: Listing, images: list[ListingImage], result, features_version: str) -> None:
    """Keep each image's vector and PDQ hash (with the models version that computed them): the
    confirmed-counterfeit bank is built from them on takedown, and recomputed there once the models change.

    The result has one row per image that decoded, with its index in the scan's image list in
    ``image_positions`` (images that failed have none). When the rows cannot be paired with the images for
    sure, nothing is kept: build_bank recomputes from files. ``images``: the listing's, by position (the order
    of the scan's image_paths).
    """
    vectors = np.asarray(result.image_vectors, dtype=np.float32) if result.image_vectors is not None else None
    hashes = list(result.pdq_hashes or [])
    rows = len(hashes) if vectors is None else len(vectors)
    positions = result.image_positions if result.image_positions is not None else range(rows)
    decoded = [images[p] for p in positions if p < len(images)]
    if rows > len(decoded) or (vectors is not None and hashes and len(hashes) != rows):
        log.warning("listing %s: %s feature rows for %s decoded images; not stored", listing.listing_key, rows,
                    len(decoded))
        rows = 0
    stored = {image.pk: n for n, image in enumerate(decoded[:rows])}
    for image in images:
        n = stored.get(image.pk)
        image.vector = vectors[n].tobytes() if n is not None and vectors is not None else None
        image.pdq = (hashes[n] or "") if n is not None and n < len(hashes) else ""
        image.features_version = features_version if n is not None else ""
    ListingImage.objects.bulk_update(images, ["vector", "pdq", "features_version"])


def review_threshold_for(listing: Listing, policy: DetectionPolicy | None = None) -> float:
    """The brand's override or the policy threshold, nudged by the seller's trust tier (never enough to hide a strong match)."""
    from anticounterfeit.detection.actions import brand_review_threshold

    threshold = brand_review_threshold(listing.matched_brand)
    if threshold is None:
        threshold = (policy or DetectionPolicy.current()).review_threshold
    adjust = {"restricted": -0.15, "poor": -0.1, "fair": -0.03, "excellent": 0.05}.get(listing.seller.trust_tier, 0.0)
    # The tier may raise the bar up to 0.8 (never hiding a strong match); a threshold set above that stays as set.
    return min(max(threshold + adjust, 0.05), max(threshold, 0.8))


def _match_json(match) -> dict:
    return {
        "kind": match.kind, "ref_id": match.ref_id, "brand_id": match.brand_id, "score": round(float(match.score), 4),
        "listing_image": match.listing_image, "ref_image": match.ref_image,
        "box": list(match.box) if match.box is not None else None,
    }

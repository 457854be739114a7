"""Scanning listings: the glue between a listing's rows and ``ml`` (build the input, record the result), the
batching of scans across workers, and the sweeps that re-queue scans a broker outage lost."""
import logging

from django.conf import settings
from django.utils import timezone

from anticounterfeit.core import queue, tasks
from anticounterfeit.core.locks import take_each, take_once
from anticounterfeit.listings.models import Listing, media_path
from ml.types import ListingInput, SellerInfo

from .actions import ScanBatchContext, record_detection, settle_decided_ocr_followups
from .detector_cache import get_detector, shadow_scorer
from .models import Detection

log = logging.getLogger(__name__)
SCAN_BATCH = 8  # listings per task: the image model is fastest around 8 images per forward pass
SCAN_CLAIM_SECONDS = 120  # a batch's claim on the listings it took (a scan is cut off at 180 s; workers.scan)
OCR_FOLLOWUP_STATUSES = ("pending", "clear", "in_review")  # listings the OCR follow-up may still change


def listing_input(listing: Listing) -> ListingInput:
    """Build the framework-free ml input from the listing's rows."""
    seller = listing.seller
    # .all(): served by listings_for_scan's prefetch (no query per listing)
    authorized = frozenset(a.brand.brand_key for a in seller.authorizations.all())
    return ListingInput(
        listing_id=listing.listing_key,
        seller=SellerInfo(
            seller_id=seller.seller_key, account_age_days=seller.account_age_days,
            prior_takedowns=seller.prior_takedowns, prior_sales=seller.prior_sales,
            trust_rating=float(seller.trust_rating) if seller.trust_rating else None, authorized_brands=authorized,
        ),
        title=listing.title, description=listing.description,
        price=float(listing.price) if listing.price is not None else None, currency=listing.currency,
        image_paths=tuple(media_path(image.image) for image in listing.images.all()),
    )


def listings_for_scan(listing_ids: list[int]) -> list[Listing]:
    """The listings with everything ``listing_input`` reads (seller, images, authorisations) in a fixed number
    of queries, however many listings."""
    return list(Listing.objects.filter(pk__in=listing_ids).select_related("seller")
                .prefetch_related("images", "seller__authorizations__brand"))


def scan_listings(listing_ids: list[int], *, ocr_followup: bool = False) -> int:
    """Scan a batch (the detector batches images across listings). Returns how many were recorded.

    Scans take the fast path (no OCR or small-logo check, the costly part of a scan); listings whose result
    those could still change (``Detection.followup_pending``: the text names no brand) get a follow-up ``scan_ocr`` on
    the ``ocr`` queue, so they never delay a first verdict. The follow-up (``ocr_followup=True``) runs the full scan and replaces the fast
    result of the same bank version (``record_detection(replace=True)``, which clears ``followup_pending``); it skips
    listings no longer waiting, so a redelivered or re-swept follow-up costs one query.
    """
    detector, bank_version = get_detector()
    if detector is None:
        log.warning("no reference bank yet: listings %s stay pending until a catalog is imported", listing_ids)
        return 0
    listings = listings_for_scan(listing_ids)
    if ocr_followup:  # only listings still waiting (a repeat is free); decided ones keep their evidence
        waiting = set(Detection.objects.filter(listing__in=listings, followup_pending=True).values_list("listing_id",
                                                                                                  flat=True))
        todo = [item for item in listings if item.pk in waiting and item.status in OCR_FOLLOWUP_STATUSES]
    else:
        todo = [item for item in listings if item.status == Listing.Status.PENDING or
                not item.detections.filter(bank_version=bank_version).exists()]
    if not todo:
        return 0
    results = detector.scan([listing_input(item) for item in todo], ocr=ocr_followup)
    context = ScanBatchContext.of(todo)  # policy, images, allow-rule owners: read once for the batch
    shadow = shadow_scorer()  # a candidate in shadow scores the same signals; its score acts on nothing
    shadow_scores = [float(s) for s in shadow[1].predict([r.signals for r in results])] if shadow else []
    pending = []
    for index, (listing, result) in enumerate(zip(todo, results, strict=True)):
        record_detection(listing.pk, result, bank_version=bank_version, replace=ocr_followup,
                         features_version=detector.models.version, context=context,
                         shadow=(shadow[0], shadow_scores[index]) if shadow else None)
        if result.followup_pending:
            pending.append(listing.pk)
    queue_ocr_followups(pending)
    return len(todo)


def queue_ocr_followups(listing_ids: list[int]) -> None:
    """Queue ``scan_ocr`` for these listings once the current transaction commits, in detector-sized batches.

    A follow-up lost to a broker outage leaves the fast result standing with ``Detection.followup_pending`` set; the
    beat sweeper (``requeue_ocr_followups``) queues it again after a grace period.
    """
    queue.enqueue_each(tasks.SCAN_FOLLOWUP, ([listing_ids[start:start + SCAN_BATCH]]
                                             for start in range(0, len(listing_ids), SCAN_BATCH)))


def claim_waiting(limit: int, *, exclude: int | None = None) -> list[int]:
    """Up to ``limit`` of the oldest pending listings, each claimed for this worker (Redis ``SET NX`` with a TTL,
    ``core.locks.take_each``) so two workers do not batch the same ones.

    Candidates are tried oldest first, as many at a time as are still missing (one round trip to Redis when none
    is taken by another worker), so no more than ``limit`` are ever claimed.
    """
    if limit <= 0:
        return []
    waiting = list(Listing.objects.filter(status=Listing.Status.PENDING).exclude(pk=exclude)
                   .order_by("pk").values_list("pk", flat=True)[: limit * 4])
    claimed: list[int] = []
    while waiting and len(claimed) < limit:
        tries, waiting = waiting[: limit - len(claimed)], waiting[limit - len(claimed):]
        took = take_each([claim_key(pk) for pk in tries], SCAN_CLAIM_SECONDS)
        claimed += [pk for pk, ok in zip(tries, took, strict=True) if ok]
    return claimed


def claim_key(listing_id: int) -> str:
    return f"ac:scan-claim:{listing_id}"


def requeue_pending(older_than=None) -> int:
    """Queue scans for pending listings (optionally only those untouched for ``older_than``)."""
    pending = Listing.objects.filter(status=Listing.Status.PENDING)
    if older_than is not None:
        pending = pending.filter(updated_at__lt=timezone.now() - older_than)
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:5000])
    queue.enqueue_each(tasks.SCAN_BATCH, ([ids[start:start + SCAN_BATCH]] for start in range(0, len(ids), SCAN_BATCH)))
    if ids:
        log.info("queued %d pending listings for scanning", len(ids))
    return len(ids)


def requeue_ocr_followups(older_than=None, limit: int = 5000) -> int:
    """Queue ``scan_ocr`` again for fast results still waiting for OCR (``Detection.followup_pending``) after
    ``older_than`` (default ``DETECTION["OCR_FOLLOWUP_GRACE"]``): their follow-up was lost (broker outage) or is
    late. Safe to repeat: the follow-up skips listings no longer waiting. Decided listings are settled instead."""
    settle_decided_ocr_followups()
    grace = settings.DETECTION["OCR_FOLLOWUP_GRACE"] if older_than is None else older_than
    waiting = Detection.objects.filter(followup_pending=True, created_at__lte=timezone.now() - grace,
                                       listing__status__in=OCR_FOLLOWUP_STATUSES)
    # One re-queue per waiting result per grace period (across workers): a backed-up ocr queue is not flooded by
    # every sweep. The key names the result (its row and time), never just a listing id a new database may reuse.
    keys = {listing_id: f"ac:ocr-followup-requeued:{pk}:{created.timestamp():.6f}"
            for pk, listing_id, created in waiting.order_by("created_at")
            .values_list("pk", "listing_id", "created_at")[:limit]}
    ids = [i for i, key in keys.items() if take_once(key, int(grace.total_seconds()))]
    queue_ocr_followups(ids)  # durable in the outbox: the relay publishes it whenever the broker is back
    queued = len(ids)
    if queued:
        log.info("queued %d OCR follow-ups that were still waiting", queued)
    return queued



"""Scanning listings: the ``scan`` queue (fast path) and the ``ocr`` queue (OCR follow-ups)."""
import logging

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from .runtime import take_each, take_once

log = logging.getLogger(__name__)
# Scans are idempotent (record_detection skips work done for the bank version; an OCR follow-up rewrites the same
# row with the same result), so they may be acked late and redelivered when a worker dies (reject_on_worker_lost,
# settings). Only transient database and broker errors are retried, with jittered backoff; a stuck scan is cut off
# well before the broker's visibility timeout (the listing stays pending and the sweeper re-queues it).
SCAN_TASK_OPTIONS = {
    "acks_late": True, "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError, BrokerError), "dont_autoretry_for": (IntegrityError,),
    "retry_backoff": 2, "retry_backoff_max": 60, "retry_jitter": True, "max_retries": 5,
    "soft_time_limit": 120, "time_limit": 180,
}
SCAN_BATCH = 8  # listings per task: the image model is fastest around 8 images per forward pass
SCAN_CLAIM_SECONDS = 120  # a batch's claim on the listings it took (a scan is cut off at 180 s; see scan_listing)
OCR_FOLLOWUP_STATUSES = ("pending", "clear", "in_review")  # listings the OCR follow-up may still change


def listing_input(listing):
    """Build the framework-free ml input from the listing's rows."""
    from anticounterfeit.listings.models import media_path
    from ml.types import ListingInput, SellerInfo

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


def listings_for_scan(listing_ids: list[int]) -> list:
    """The listings with everything ``listing_input`` reads (seller, images, authorisations) in a fixed number
    of queries, however many listings."""
    from anticounterfeit.listings.models import Listing

    return list(Listing.objects.filter(pk__in=listing_ids).select_related("seller")
                .prefetch_related("images", "seller__authorizations__brand"))


def scan_listings(listing_ids: list[int], *, ocr_followup: bool = False) -> int:
    """Scan a batch (the detector batches images across listings). Returns how many were recorded.

    Scans take the fast path (no OCR or small-logo check: ~0.15-0.25 s per listing saved); listings whose result
    those could still change (``Detection.followup_pending``: the text names no brand) get a follow-up ``scan_ocr`` on
    the ``ocr`` queue, so they never delay a first verdict. The follow-up (``ocr_followup=True``) runs the full scan and replaces the fast
    result of the same bank version (``record_detection(replace=True)``, which clears ``followup_pending``); it skips
    listings no longer waiting, so a redelivered or re-swept follow-up costs one query.
    """
    from anticounterfeit.listings.actions import ScanBatchContext, record_detection
    from anticounterfeit.listings.models import Detection, Listing

    from .runtime import get_detector

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
    pending = []
    for listing, result in zip(todo, results, strict=True):
        record_detection(listing.pk, result, bank_version=bank_version, replace=ocr_followup,
                         features_version=detector.models.version, context=context)
        if result.followup_pending:
            pending.append(listing.pk)
    queue_ocr_followups(pending)
    return len(todo)


def queue_ocr_followups(listing_ids: list[int]) -> None:
    """Queue ``scan_ocr`` for these listings once the current transaction commits, in detector-sized batches.

    A follow-up lost to a broker outage leaves the fast result standing with ``Detection.followup_pending`` set; the
    beat sweeper (``workers.maintenance.requeue_ocr_followups``) queues it again after a grace period.
    """
    from .enqueue import enqueue_on_commit

    for start in range(0, len(listing_ids), SCAN_BATCH):
        enqueue_on_commit(scan_ocr, listing_ids[start:start + SCAN_BATCH])


@shared_task(name="workers.scan.scan_listing", bind=True, **SCAN_TASK_OPTIONS)
def scan_listing(self, listing_id: int) -> int:
    """One accepted listing's scan (the API queues one per listing), batched with other listings still waiting.

    A flood of single-listing tasks would run the models at batch 1, several times the cost per listing of a
    batch of ``SCAN_BATCH``; so the task also takes up to ``SCAN_BATCH - 1`` of the oldest other pending listings
    no other worker has claimed (``claim_waiting``). Their own queued tasks then find them scanned and return
    after one query. Nothing depends on the claim for correctness: a listing whose claimer died is scanned by its
    own (redelivered or swept) task, and a listing scanned twice is recorded once (``record_detection``).
    """
    take_once(_claim_key(listing_id), SCAN_CLAIM_SECONDS)  # others leave it out of their batches; it runs anyway
    return scan_listings([listing_id, *claim_waiting(SCAN_BATCH - 1, exclude=listing_id)])


def claim_waiting(limit: int, *, exclude: int | None = None) -> list[int]:
    """Up to ``limit`` of the oldest pending listings, each claimed for this worker (Redis ``SET NX`` with a TTL,
    ``workers.runtime.take_each``) so two workers do not batch the same ones.

    Candidates are tried oldest first, as many at a time as are still missing (one round trip to Redis when none
    is taken by another worker), so no more than ``limit`` are ever claimed.
    """
    from anticounterfeit.listings.models import Listing

    if limit <= 0:
        return []
    waiting = list(Listing.objects.filter(status=Listing.Status.PENDING).exclude(pk=exclude)
                   .order_by("pk").values_list("pk", flat=True)[: limit * 4])
    claimed: list[int] = []
    while waiting and len(claimed) < limit:
        tries, waiting = waiting[: limit - len(claimed)], waiting[limit - len(claimed):]
        took = take_each([_claim_key(pk) for pk in tries], SCAN_CLAIM_SECONDS)
        claimed += [pk for pk, ok in zip(tries, took, strict=True) if ok]
    return claimed


def _claim_key(listing_id: int) -> str:
    return f"ac:scan-claim:{listing_id}"


@shared_task(name="workers.scan.scan_batch", bind=True, **SCAN_TASK_OPTIONS)
def scan_batch(self, listing_ids: list[int]) -> int:
    return scan_listings(listing_ids)


@shared_task(name="workers.scan.scan_ocr", bind=True, **SCAN_TASK_OPTIONS)
def scan_ocr(self, listing_ids: list[int]) -> int:
    """The OCR follow-up (its own ``ocr`` queue / worker pool): full scan, replacing the fast result."""
    return scan_listings(listing_ids, ocr_followup=True)

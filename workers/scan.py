"""Scanning listings: the ``scan`` queue."""
import logging

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)
# Scans are idempotent (record_detection skips work done for the bank version), so they may be acked late
# and redelivered when a worker dies (reject_on_worker_lost, settings). Only transient database and broker
# errors are retried, with jittered backoff; a stuck scan is cut off well before the broker's visibility
# timeout (the listing stays pending and the sweeper re-queues it).
SCAN_TASK_OPTIONS = {
    "acks_late": True, "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError, BrokerError), "dont_autoretry_for": (IntegrityError,),
    "retry_backoff": 2, "retry_backoff_max": 60, "retry_jitter": True, "max_retries": 5,
    "soft_time_limit": 120, "time_limit": 180,
}
SCAN_BATCH = 8  # listings per task: the image model is fastest around 8 images per forward pass


def listing_input(listing):
    """Build the framework-free ml input from the listing's rows."""
    from anticounterfeit.listings.models import media_path
    from ml.types import ListingInput, SellerInfo

    seller = listing.seller
    authorized = frozenset(seller.authorizations.values_list("brand__brand_key", flat=True))
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


def scan_listings(listing_ids: list[int]) -> int:
    """Scan a batch (the detector batches images across listings). Returns how many were recorded."""
    from anticounterfeit.listings.actions import record_detection
    from anticounterfeit.listings.models import Listing

    from .runtime import get_detector

    detector, bank_version = get_detector()
    if detector is None:
        log.warning("no reference bank yet: listings %s stay pending until a catalog is imported", listing_ids)
        return 0
    listings = list(Listing.objects.filter(pk__in=listing_ids).select_related("seller").prefetch_related("images"))
    todo = [item for item in listings if item.status == Listing.Status.PENDING or
            not item.detections.filter(bank_version=bank_version).exists()]
    if not todo:
        return 0
    results = detector.scan([listing_input(item) for item in todo])
    for listing, result in zip(todo, results, strict=True):
        record_detection(listing.pk, result, bank_version=bank_version)
    return len(todo)


@shared_task(name="workers.scan.scan_listing", bind=True, **SCAN_TASK_OPTIONS)
def scan_listing(self, listing_id: int) -> int:
    return scan_listings([listing_id])


@shared_task(name="workers.scan.scan_batch", bind=True, **SCAN_TASK_OPTIONS)
def scan_batch(self, listing_ids: list[int]) -> int:
    return scan_listings(listing_ids)

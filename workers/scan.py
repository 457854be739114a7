"""Scanning listings: the ``scan`` queue (fast path) and the ``ocr`` queue (OCR follow-ups)."""
import logging

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from anticounterfeit.core.locks import take_once
from anticounterfeit.detection.detector_cache import get_detector
from anticounterfeit.detection.scanning import (
    SCAN_BATCH,
    SCAN_CLAIM_SECONDS,
    claim_key,
    claim_waiting,
    scan_listings,
)

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


@shared_task(name="workers.scan.scan_listing", bind=True, **SCAN_TASK_OPTIONS)
def scan_listing(self, listing_id: int) -> int:
    """One accepted listing's scan (the API queues one per listing), batched with other listings still waiting.

    A flood of single-listing tasks would run the models at batch 1, several times the cost per listing of a
    batch of ``SCAN_BATCH``; so the task also takes up to ``SCAN_BATCH - 1`` of the oldest other pending listings
    no other worker has claimed (``claim_waiting``). Their own queued tasks then find them scanned and return
    after one query. Nothing depends on the claim for correctness: a listing whose claimer died is scanned by its
    own (redelivered or swept) task, and a listing scanned twice is recorded once (``record_detection``).
    """
    take_once(claim_key(listing_id), SCAN_CLAIM_SECONDS)  # others leave it out of their batches; it runs anyway
    return scan_listings([listing_id, *claim_waiting(SCAN_BATCH - 1, exclude=listing_id)])


@shared_task(name="workers.scan.scan_batch", bind=True, **SCAN_TASK_OPTIONS)
def scan_batch(self, listing_ids: list[int]) -> int:
    return scan_listings(listing_ids)


@shared_task(name="workers.scan.scan_ocr", bind=True, **SCAN_TASK_OPTIONS)
def scan_ocr(self, listing_ids: list[int]) -> int:
    """The OCR follow-up (its own ``ocr`` queue / worker pool): full scan, replacing the fast result."""
    return scan_listings(listing_ids, ocr_followup=True)


@shared_task(name="workers.scan.warm_detector")
def warm_detector() -> int:
    """Load the models and the current bank now (web start in the embedded mode), so no decision or scan waits."""

    return get_detector()[1]

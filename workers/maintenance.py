"""Periodic housekeeping (beat): re-queue stuck listings and lost OCR follow-ups, release expired case leases."""
import logging

from celery import shared_task

log = logging.getLogger(__name__)
BATCH = 200


def requeue_pending(older_than=None) -> int:
    """Queue scans for pending listings (optionally only those untouched for ``older_than``)."""
    from django.utils import timezone

    from anticounterfeit.listings.models import Listing

    from .scan import SCAN_BATCH, scan_batch

    pending = Listing.objects.filter(status=Listing.Status.PENDING)
    if older_than is not None:
        pending = pending.filter(updated_at__lt=timezone.now() - older_than)
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:5000])
    for start in range(0, len(ids), SCAN_BATCH):
        scan_batch.delay(ids[start:start + SCAN_BATCH])
    if ids:
        log.info("queued %d pending listings for scanning", len(ids))
    return len(ids)


def requeue_ocr_followups(older_than=None, limit: int = 5000) -> int:
    """Queue ``scan_ocr`` again for fast results still waiting for OCR (``Detection.followup_pending``) after
    ``older_than`` (default ``DETECTION["OCR_FOLLOWUP_GRACE"]``): their follow-up was lost (broker outage) or is
    late. Safe to repeat: the follow-up skips listings no longer waiting. Decided listings are settled instead."""
    from django.conf import settings
    from django.utils import timezone

    from anticounterfeit.listings.actions import settle_decided_ocr_followups
    from anticounterfeit.listings.models import Detection

    from .enqueue import send_quietly
    from .runtime import release_once, take_once
    from .scan import OCR_FOLLOWUP_STATUSES, SCAN_BATCH, scan_ocr

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
    queued = 0
    for start in range(0, len(ids), SCAN_BATCH):
        if not send_quietly(scan_ocr, ids[start:start + SCAN_BATCH]):
            for i in ids[start:]:
                release_once(keys[i])
            break  # broker still down: the next sweep tries again
        queued += len(ids[start:start + SCAN_BATCH])
    if queued:
        log.info("queued %d OCR follow-ups that were still waiting", queued)
    return queued


@shared_task(name="workers.maintenance.requeue_stuck_listings")
def requeue_stuck_listings() -> int:
    """The beat sweeper: stuck ``pending`` listings, then OCR follow-ups that never landed."""
    from django.conf import settings

    queued = requeue_pending(older_than=settings.DETECTION["STUCK_PENDING_AFTER"])
    return queued + requeue_ocr_followups()


@shared_task(name="workers.maintenance.expire_case_leases")
def expire_case_leases() -> int:
    from django.utils import timezone

    from anticounterfeit.moderation.models import Case

    return Case.objects.open().filter(lease_expires_at__lt=timezone.now()).update(assigned_to=None, lease_expires_at=None)


def remove_orphan_listing_files(older_than=None) -> int:
    """Delete listing image files that no row references (a request that died after writing its files but
    before its transaction committed). Only files older than ``older_than`` go, so in-flight requests are safe."""
    import os
    import time
    from datetime import timedelta

    from django.conf import settings

    from anticounterfeit.listings.models import ListingImage

    cutoff = time.time() - (older_than if older_than is not None else timedelta(hours=1)).total_seconds()
    media = str(settings.MEDIA_ROOT)
    removed = 0
    for folder, _dirs, files in os.walk(os.path.join(media, "listings")):
        prefix = os.path.relpath(folder, media).replace(os.sep, "/") + "/"
        candidates = {f"{prefix}{name}" for name in files if os.path.getmtime(os.path.join(folder, name)) < cutoff}
        if not candidates:
            continue
        known = set(ListingImage.objects.filter(image__in=candidates).values_list("image", flat=True))
        for name in candidates - known:
            os.remove(os.path.join(media, name))
            removed += 1
    if removed:
        log.info("removed %d orphan listing files", removed)
    return removed


@shared_task(name="workers.maintenance.remove_orphan_files")
def remove_orphan_files() -> int:
    return remove_orphan_listing_files()

"""Brand-portal catalog imports in the background, and retroactive matching.

When a catalog changes, the listings already in the system are matched against the new bank version in
bounded batches (each batch queues the next), so a new reference finds the fakes already listed.
Scans are idempotent per bank version (``detection.actions.record_detection``) and move clear → in_review.
"""
import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, OperationalError

from anticounterfeit.catalog import actions as catalog_actions
from anticounterfeit.catalog.retro import active_listing_count, active_listing_ids
from anticounterfeit.core import queue, tasks
from anticounterfeit.detection.scanning import scan_listings

log = logging.getLogger(__name__)
RETRY = {"bind": True, "acks_late": True, "autoretry_for": (OperationalError, DatabaseError), "retry_backoff": 2,
         "retry_jitter": True, "max_retries": 5}


@shared_task(name="workers.retro.import_upload", **RETRY)
def import_upload(self, job_id: int, path: str) -> int | None:
    """Import an uploaded bundle (ZIP or folder under MEDIA_ROOT/uploads), then remove the upload."""
    return catalog_actions.import_upload(job_id, path)


@shared_task(name="workers.retro.match_existing", **RETRY)
def match_existing(self, job_id: int | None = None, after_pk: int = 0) -> int:
    """Rescan one batch of active listings against the newest bank, record progress, queue the next batch.

    Fast path + follow-up, as for new listings: a full (OCR) scan would hold the scan queue for minutes per batch
    on a large catalog. A provisional fast result never lowers a listing's score or clears a flag.
    """
    if after_pk == 0:
        catalog_actions.start_retro_match(job_id, active_listing_count())
    batch = active_listing_ids(after_pk, settings.RETRO_MATCH_BATCH)
    if batch:
        scan_listings(batch)
        queue.enqueue(tasks.MATCH_EXISTING, job_id, batch[-1])
    catalog_actions.record_retro_progress(job_id, scanned=len(batch), done=not batch)
    return len(batch)

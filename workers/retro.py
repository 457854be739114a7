"""Brand-portal catalog imports in the background, and retroactive matching.

When a catalog changes, the listings already in the system are matched against the new bank version in
bounded batches (each batch re-enqueues the next), so a new reference finds the fakes already listed.
``listings.actions.record_detection`` is idempotent per bank version and moves clear → in_review.
"""
import logging
import shutil
from pathlib import Path

from celery import shared_task
from django.db import DatabaseError, OperationalError

log = logging.getLogger(__name__)
ACTIVE = ("clear", "in_review")


@shared_task(name="workers.retro.import_upload", bind=True, acks_late=True,
             autoretry_for=(OperationalError, DatabaseError), retry_backoff=2, retry_jitter=True, max_retries=5)
def import_upload(self, job_id: int, path: str) -> int | None:
    """Import an uploaded bundle (ZIP or folder under MEDIA_ROOT/uploads), then remove the upload."""
    from django.conf import settings
    from django.utils import timezone

    from anticounterfeit.catalog.actions import import_bundle
    from anticounterfeit.catalog.models import ImportJob

    job = ImportJob.objects.select_related("brand", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return None
    upload = Path(path)
    uploads = (Path(settings.MEDIA_ROOT) / "uploads").resolve()
    try:
        import_bundle(str(upload), acting_user=job.created_by, job=job)
    except Exception as exc:  # noqa: BLE001 - the job shows the failure; the upload is kept for a retry
        if isinstance(exc, OperationalError | DatabaseError):
            raise
        log.exception("import #%s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                                                   errors=[*job.errors, f"import failed: {exc}"])
        return None
    folder = upload.resolve()
    if uploads in folder.parents:  # remove the whole upload folder (ZIP, CSV bundle or picked folder)
        while folder.parent != uploads:
            folder = folder.parent
        shutil.rmtree(folder, ignore_errors=True)
    return job_id


def active_listing_ids(after_pk: int, limit: int) -> list[int]:
    from anticounterfeit.listings.models import Listing

    return list(Listing.objects.filter(status__in=ACTIVE, pk__gt=after_pk).order_by("pk")
                .values_list("pk", flat=True)[:limit])


@shared_task(name="workers.retro.match_existing", bind=True, acks_late=True,
             autoretry_for=(OperationalError, DatabaseError), retry_backoff=2, retry_jitter=True, max_retries=5)
def match_existing(self, job_id: int | None = None, after_pk: int = 0) -> int:
    """Rescan one batch of active listings against the newest bank, record progress, queue the next batch."""
    from django.conf import settings
    from django.db.models import F
    from django.utils import timezone

    from anticounterfeit.catalog.models import ImportJob
    from anticounterfeit.listings.models import Listing

    from .enqueue import send_quietly
    from .scan import scan_listings

    jobs = ImportJob.objects.filter(pk=job_id) if job_id else ImportJob.objects.none()
    if after_pk == 0:
        jobs.update(retro_total=Listing.objects.filter(status__in=ACTIVE).count(), retro_done=0)
    batch = active_listing_ids(after_pk, settings.RETRO_MATCH_BATCH)
    if not batch:
        jobs.update(status=ImportJob.Status.DONE, finished_at=timezone.now(), retro_done=F("retro_total"))
        return 0
    # Fast path + OCR follow-up, as for new listings: a full (OCR) scan would hold the scan queue for minutes per
    # batch on a large catalog. A provisional fast result never lowers a listing's score or clears a flag, and
    # its follow-up on the ocr queue restores the OCR signal. Skips listings already scanned against this bank.
    scan_listings(batch)
    jobs.update(retro_done=F("retro_done") + len(batch))
    if not send_quietly(match_existing, job_id, batch[-1]):
        jobs.update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    return len(batch)

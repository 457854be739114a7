"""Periodic housekeeping (beat): re-queue stuck listings and lost OCR follow-ups, release expired case leases,
remove orphan files, submit statements of reasons; the outbox relay's safety net."""
from celery import shared_task
from django.conf import settings

from anticounterfeit.compliance.actions import submit_pending
from anticounterfeit.core import queue
from anticounterfeit.detection.scanning import requeue_ocr_followups, requeue_pending
from anticounterfeit.listings.maintenance import remove_orphan_listing_files
from anticounterfeit.moderation.actions import expire_case_leases as expire_leases


@shared_task(name="workers.maintenance.requeue_stuck_listings")
def requeue_stuck_listings() -> int:
    """The beat sweeper: stuck ``pending`` listings, then OCR follow-ups that never landed."""
    queued = requeue_pending(older_than=settings.DETECTION["STUCK_PENDING_AFTER"])
    return queued + requeue_ocr_followups()


@shared_task(name="workers.maintenance.expire_case_leases")
def expire_case_leases() -> int:
    return expire_leases()


@shared_task(name="workers.maintenance.remove_orphan_files")
def remove_orphan_files() -> int:
    return remove_orphan_listing_files()


@shared_task(name="workers.maintenance.relay_outbox")
def relay_outbox() -> int:
    """Beat's safety net for ``./run relay``: publish what the commit hooks could not (broker was down)."""
    return queue.publish_pending()


@shared_task(name="workers.maintenance.submit_statements")
def submit_statements() -> int:
    """Statements of reasons not yet accepted go to the Transparency Database (nothing when DSA_SUBMIT_URL is unset)."""
    return len(submit_pending())

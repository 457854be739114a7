"""Building the FAISS banks: the ``index`` queue (full builds, compaction, and deltas that need the models)."""
from celery import shared_task
from django.db import DatabaseError, IntegrityError, OperationalError

from anticounterfeit.detection import bank_builds, bank_deltas

RETRY = {"bind": True, "acks_late": True, "autoretry_for": (OperationalError, DatabaseError, IntegrityError),
         "retry_backoff": 2, "retry_jitter": True, "max_retries": 5}


@shared_task(name="workers.bank_builds.rebuild_banks", **RETRY)
def rebuild_banks(self, reason: str = "", import_job_id: int | None = None, rescan: bool = True) -> int:
    return bank_builds.rebuild(reason, import_job_id=import_job_id, rescan=rescan)


@shared_task(name="workers.bank_builds.record_counterfeit", **RETRY)
def record_counterfeit(self, listing_id: int) -> int | None:
    return bank_builds.record_counterfeit(listing_id)


@shared_task(name="workers.bank_builds.record_catalog_change", **RETRY)
def record_catalog_change(self, reason: str = "", import_job_id: int | None = None, ref_keys: list[str] = (),
                          brand_keys: list[str] = ()) -> int:
    return bank_builds.record_catalog_change(reason, import_job_id=import_job_id, ref_keys=ref_keys,
                                             brand_keys=brand_keys)


@shared_task(name="workers.bank_builds.exclude_reference", **RETRY)
def exclude_reference(self, ref_key: str) -> int:
    return bank_deltas.record_reference_removed(ref_key).pk


@shared_task(name="workers.bank_builds.compact_banks", acks_late=True)
def compact_banks() -> int | None:
    """Beat: fold the deltas into a new full version."""
    return bank_builds.compact()

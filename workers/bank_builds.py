"""Building the FAISS banks: the ``index`` queue."""
from celery import shared_task
from django.db import DatabaseError, IntegrityError, OperationalError

from anticounterfeit.detection import bank_builds


@shared_task(name="workers.bank_builds.rebuild_banks", bind=True, acks_late=True,
             autoretry_for=(OperationalError, DatabaseError, IntegrityError), retry_backoff=2, retry_jitter=True,
             max_retries=5)
def rebuild_banks(self, reason: str = "", import_job_id: int | None = None, rescan: bool = True) -> int:
    return bank_builds.rebuild(reason, import_job_id=import_job_id, rescan=rescan)

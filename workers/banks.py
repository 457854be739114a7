"""Building the FAISS banks: the ``index`` queue.

The database is the source of truth (references, and the vectors of confirmed counterfeits);
a bank version is a derived snapshot written atomically to a new folder.
"""
import logging

import numpy as np
from celery import shared_task
from django.db import DatabaseError, IntegrityError, OperationalError
from django.db.models import Prefetch

log = logging.getLogger(__name__)


def build_bank(reason: str = "") -> int:
    from django.conf import settings

    from anticounterfeit.catalog.models import BankVersion, Brand, ReferenceItem
    from anticounterfeit.listings.models import Listing, ListingImage, media_path
    from ml.index import ReferenceIndex
    from ml.models import load_models
    from ml.types import BrandInfo, ReferenceInfo

    from .runtime import configure_threads

    configure_threads()
    brands = [BrandInfo(b.brand_key, b.name, tuple(b.aliases), tuple(b.protected_terms)) for b in Brand.objects.all()]
    references = [
        ReferenceInfo(
            ref_id=r.ref_key, brand_id=r.brand.brand_key, title=r.title, description=r.description,
            msrp=float(r.msrp) if r.msrp is not None else None, currency=r.currency, kind=r.kind,
            image_paths=tuple(media_path(i.image) for i in r.images.all()),
        )
        for r in ReferenceItem.objects.filter(quarantined=False).select_related("brand").prefetch_related("images")
    ]
    index = ReferenceIndex.build(brands, references, load_models(), cache_dir=str(settings.DETECTION["EMBED_CACHE_DIR"]))
    counterfeits = []
    removed = (Listing.objects.filter(status=Listing.Status.REMOVED).select_related("matched_brand")
               .prefetch_related(Prefetch("images", queryset=ListingImage.objects.order_by("position"))))
    for listing in removed:  # two queries in all, however many confirmed counterfeits there are
        images = [i for i in listing.images.all() if i.vector]
        if images:
            vectors = np.stack([np.frombuffer(bytes(i.vector), dtype=np.float32) for i in images])
            brand_key = listing.matched_brand.brand_key if listing.matched_brand else None
            counterfeits.append((listing.listing_key, brand_key, vectors, [i.pdq for i in images]))
    if counterfeits:
        index.add_counterfeits(counterfeits)
    latest = BankVersion.objects.order_by("-number").first()
    number = (latest.number if latest else 0) + 1
    path = settings.DETECTION["BANK_DIR"] / f"v{number:06d}"
    index.save(str(path))
    BankVersion.objects.create(number=number, path=str(path), counts=dict(index.counts), reason=reason[:200])
    log.info("bank v%s built (%s): %s", number, reason, index.counts)
    return number


@shared_task(name="workers.banks.rebuild_banks", bind=True, acks_late=True,
             autoretry_for=(OperationalError, DatabaseError, IntegrityError), retry_backoff=2, retry_jitter=True,
             max_retries=5)
def rebuild_banks(self, reason: str = "", import_job_id: int | None = None, rescan: bool = True) -> int:
    from anticounterfeit.catalog.actions import finish_import_job

    number = build_bank(reason)
    if import_job_id is not None:
        finish_import_job(import_job_id, bank_version=number)
    if rescan:
        from .maintenance import requeue_pending

        requeue_pending(older_than=None)
    return number

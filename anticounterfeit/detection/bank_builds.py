"""Building the FAISS banks (the ``index`` queue runs it).

The database is the source of truth (references, and the vectors of confirmed counterfeits);
a bank version is a derived snapshot written atomically to a new folder.
"""
import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch

from anticounterfeit.catalog.actions import finish_import_job
from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.core import audit
from anticounterfeit.listings.models import Listing, ListingImage, media_path
from ml.detector import decode_scan_image
from ml.images import ImageError
from ml.index import ReferenceIndex, embed_references
from ml.models import load_models
from ml.types import ReferenceInfo

from . import bank_deltas
from .detector_cache import configure_threads, expected_model_version, index_model_version
from .ml_config import bank_config, detector_config, models_config
from .models import BankDelta, BankVersion
from .scanning import requeue_pending

log = logging.getLogger(__name__)
FEATURE_BATCH = 32  # images decoded per refresh step: bounds memory; the embedder batches within it


def build_bank(reason: str = "") -> int:
    """Write a new bank version from the catalog and the confirmed counterfeits; returns its number.

    The deltas written before the build reads the database are in it (``deltas_upto``); later ones are applied on
    top by the workers (applying one twice is harmless: an added listing replaces its own entries).
    """
    deltas_upto = bank_deltas.latest_id()
    configure_threads()
    brands = [b.matching_info() for b in Brand.objects.all()]
    references = [reference_info(r) for r in _live_references()]
    models = load_models(models_config())
    index = ReferenceIndex.build(brands, references, models, cache_dir=str(settings.DETECTION["EMBED_CACHE_DIR"]),
                                 bank_config=bank_config())
    removed = list(Listing.objects.filter(status=Listing.Status.REMOVED).select_related("matched_brand")
                   .prefetch_related(Prefetch("images", queryset=ListingImage.objects.order_by("position"))))
    refresh_counterfeit_features(removed, models)
    counterfeits = []
    for listing in removed:  # two queries (plus the refresh's batched updates), however many counterfeits
        images = [(i, v) for i in listing.images.all()  # only features of the current models enter the bank
                  if i.features_version == models.version and (v := _vector_of(i, models.image.dim)) is not None]
        if images:
            vectors = np.stack([v for _, v in images])
            brand_key = listing.matched_brand.brand_key if listing.matched_brand else None
            counterfeits.append((bank_deltas.counterfeit_bank_id(listing), brand_key, vectors, [i.pdq for i, _ in images]))
    if counterfeits:
        index.add_counterfeits(counterfeits)
    latest = BankVersion.objects.order_by("-number").first()
    number = (latest.number if latest else 0) + 1
    path = settings.DETECTION["BANK_DIR"] / f"v{number:06d}"
    index.save(str(path))
    version = BankVersion.objects.create(number=number, path=str(path), counts=dict(index.counts),
                                         reason=reason[:200], deltas_upto=deltas_upto)
    audit.record("bank.build", version, after={"counts": dict(index.counts), "reason": reason[:200]})
    log.info("bank v%s built (%s): %s", number, reason, index.counts)
    return number


def reference_info(reference: ReferenceItem) -> ReferenceInfo:
    """What the banks keep of a reference (``reference.images`` prefetched)."""
    return ReferenceInfo(
        ref_id=reference.ref_key, brand_id=reference.brand.brand_key, title=reference.title,
        description=reference.description, msrp=float(reference.msrp) if reference.msrp is not None else None,
        currency=reference.currency, kind=reference.kind,
        image_paths=tuple(media_path(i.image) for i in reference.images.all()))


def _live_references():
    return ReferenceItem.objects.filter(quarantined=False).select_related("brand").prefetch_related("images")


def record_catalog_change(reason: str, *, import_job_id: int | None = None, ref_keys: list[str] = (),
                          brand_keys: list[str] = ()) -> int:
    """The ``index`` queue's half of a catalog change (an import, one new item, a lifted quarantine, a profile
    edit): embed the new or changed references and write them and the brands' profiles as deltas, which every
    worker applies in place, under a new bank number on the same folder (no full build, no reload). The import
    job then re-matches the listings already online against that number. Returns the number.

    A full build instead when there is nothing sound to add to: no version yet, or the latest one's folder is
    unreadable or was built with other models (its vectors would not compare with the new ones).
    """
    latest = BankVersion.objects.order_by("-number").first()
    if latest is None or index_model_version(latest.path) != expected_model_version():
        return rebuild(reason, import_job_id=import_job_id)
    references = list(_live_references().filter(ref_key__in=list(ref_keys)))
    keys = set(brand_keys) | {r.brand.brand_key for r in references}
    brands = {b.brand_key: b.matching_info() for b in Brand.objects.filter(brand_key__in=keys)}
    infos = [reference_info(r) for r in references]
    rows, model_version = None, ""
    if infos:
        configure_threads()
        models = load_models(models_config())
        errors: list[str] = []
        rows = embed_references(infos, models, cache_dir=str(settings.DETECTION["EMBED_CACHE_DIR"]), errors=errors)
        model_version = models.version
        for error in errors:
            log.warning("catalog change (%s): %s", reason, error)
    with transaction.atomic():
        latest = BankVersion.objects.select_for_update().order_by("-number").first()
        for info in infos:
            bank_deltas.record_reference(info, brands[info.brand_id], rows.of_reference(info.ref_id),
                                         model_version=model_version)
        for brand in brands.values():
            bank_deltas.record_brand_profile(brand)
        version = BankVersion.objects.create(
            number=latest.number + 1, path=latest.path, deltas_upto=latest.deltas_upto, reason=reason[:200],
            # the folder's own counts, named as such, and what this change adds to them
            counts={**latest.counts, "folder_of": latest.counts.get("folder_of", latest.number),
                    "references_changed": len(infos), "brands_changed": len(brands)})
        audit.record("bank.catalog_change", version, after={"references": [i.ref_id for i in infos],
                                                            "brands": sorted(brands), "reason": reason[:200]})
    log.info("bank v%s: %s reference(s) and %s brand profile(s) added as deltas (%s)", version.number, len(infos),
             len(brands), reason)
    if import_job_id is not None:
        finish_import_job(import_job_id, bank_version=version.number)
    requeue_pending(older_than=None)
    return version.number


def refresh_counterfeit_features(listings: list, models, *, batch: int = FEATURE_BATCH) -> int:
    """Recompute the stored vector/PDQ of removed listings' images computed by other models; returns how many.

    Removed listings are never rescanned, so after an embedder or PDQ change their stored features no longer
    compare with new listings' and the counterfeit bank would silently stop matching. The images go through the
    detector's own path (``ml.detector.decode_scan_image``, then global vectors) in batches, and the rows are
    saved with the current ``features_version``. An unreadable file is logged and its row left as it was (it stays
    out of the bank until a later build can read it).
    ``listings`` carry their images prefetched in position order (they see the new values afterwards).
    """
    limits = detector_config()
    stale = [image for listing in listings  # the detector embeds only a listing's first images
             for image in list(listing.images.all())[: limits.limits.max_images_per_listing]
             if image.features_version != models.version or _vector_of(image, models.image.dim) is None]
    done = 0
    for start in range(0, len(stale), batch):
        rows, decoded = [], []
        for image in stale[start:start + batch]:
            try:
                decoded.append(decode_scan_image(media_path(image.image), limits, models.image.config))
                rows.append(image)
            except (ImageError, OSError, ValueError) as exc:  # ValueError/OSError: a row without a usable file
                log.warning("counterfeit bank: listing %s image %s (%s) skipped, features not refreshed: %s",
                            image.listing.listing_key, image.position, image.image.name, exc)
        if not rows:
            continue
        vectors, _ = models.image.embed_squares(np.stack([d.square for d in decoded]), regions=False)
        for image, got, vector in zip(rows, decoded, vectors, strict=True):
            image.vector = np.asarray(vector, np.float32).tobytes()
            image.pdq = got.pdq
            image.features_version = models.version
        ListingImage.objects.bulk_update(rows, ["vector", "pdq", "features_version"])
        done += len(rows)
    if stale:
        log.info("counterfeit bank: refreshed features of %s of %s stale images to %s", done, len(stale),
                 models.version)
    return done


def _vector_of(image, dim: int) -> np.ndarray | None:
    """The stored global vector, or None when missing or of another size (not comparable with the bank's)."""
    if not image.vector:
        return None
    vector = np.frombuffer(bytes(image.vector), dtype=np.float32)
    return vector if vector.shape[0] == dim else None


def rebuild(reason: str = "", *, import_job_id: int | None = None, rescan: bool = True) -> int:
    """Build a new bank version, finish the import job that asked for it, and queue the pending listings'
    scans against it. Returns the new version's number."""
    number = build_bank(reason)
    if import_job_id is not None:
        finish_import_job(import_job_id, bank_version=number)
    if rescan:
        requeue_pending(older_than=None)
    return number


def compact(reason: str = "compaction") -> int | None:
    """Periodic: fold the deltas into a new full version (their tombstoned rows are dropped for good); returns the
    new number, or None when there was nothing to fold. Deltas older than the previous version are deleted."""
    latest = BankVersion.objects.order_by("-number").first()
    if latest is None or not BankDelta.objects.filter(pk__gt=latest.deltas_upto).exists():
        return None
    number = build_bank(reason)
    BankDelta.objects.filter(pk__lte=latest.deltas_upto).delete()  # every worker loads the new version next
    return number


def record_counterfeit(listing_id: int) -> int | None:
    """The ``index`` queue's half of a takedown whose stored features came from other models: compute them with
    the current models, then append the delta (only while the listing is still removed). Returns the delta id."""
    listing = (Listing.objects.filter(pk=listing_id, status=Listing.Status.REMOVED).select_related("matched_brand")
               .prefetch_related(Prefetch("images", queryset=ListingImage.objects.order_by("position"))).first())
    if listing is None:
        return None
    models = load_models(models_config())
    refresh_counterfeit_features([listing], models)
    delta = bank_deltas.record_takedown(listing, model_version=models.version)
    return delta.pk if delta else None

"""Catalog changes: bundle import (brands, references, sellers, authorized sellers) and reference quarantine.

Validation of the bundle itself lives in ``ml.bundle`` (shared with the evaluation CLI); this module
turns the valid records into rows, keeps per-item errors, and queues the bank rebuild on commit.
"""
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit
from anticounterfeit.listings.models import Seller

from .models import AuthorizedSeller, Brand, ImportJob, ReferenceImage, ReferenceItem

log = logging.getLogger(__name__)


def import_bundle(path: str, *, acting_user=None, rebuild: bool = True) -> ImportJob:
    """Import a bundle folder or ZIP. Bad items are reported by file, line, id and field; the rest is kept."""
    from ml.bundle import read_bundle

    job = ImportJob.objects.create(source=str(path)[:500], created_by=acting_user if getattr(acting_user, "pk", None) else None)
    with tempfile.TemporaryDirectory(prefix="bundle-") as scratch:
        bundle = read_bundle(str(path), extract_to=scratch)
        errors = [str(e) for e in bundle.errors]
        counts = _import_records(bundle, errors, acting_user)
    job.counts, job.errors = counts, errors
    job.status = ImportJob.Status.INDEXING if rebuild else ImportJob.Status.DONE
    job.finished_at = None if rebuild else timezone.now()
    job.save()
    audit.record("catalog.import", job, actor=acting_user, after={"counts": counts, "errors": len(errors)})
    if rebuild:
        from workers.banks import rebuild_banks

        transaction.on_commit(lambda: rebuild_banks.delay(reason=f"import #{job.pk}", import_job_id=job.pk))
    return job


def finish_import_job(job_id: int, *, bank_version: int) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now(),
    )
    log.info("import #%s indexed into bank v%s", job_id, bank_version)


@transaction.atomic
def _import_records(bundle, errors: list[str], acting_user) -> dict[str, int]:
    from anticounterfeit.trust.actions import onboard_seller_history

    counts = {"brands": 0, "references": 0, "reference_images": 0, "sellers": 0, "authorized_sellers": 0}
    brands = {}
    for info in bundle.brands:
        brand, _ = Brand.objects.update_or_create(
            brand_key=info.brand_id,
            defaults={"name": info.name, "aliases": list(info.aliases), "protected_terms": list(info.protected_terms)},
        )
        brands[info.brand_id] = brand
        counts["brands"] += 1
    known_brands = {b.brand_key: b for b in Brand.objects.filter(brand_key__in=_brand_ids(bundle))} | brands

    for ref in bundle.references:
        brand = known_brands.get(ref.brand_id)
        if brand is None:
            errors.append(f"catalog.jsonl (ref_id={ref.ref_id}): field 'brand_id': unknown brand '{ref.brand_id}'")
            continue
        bad_image = _first_bad_image(ref.image_paths)
        if bad_image:
            errors.append(f"catalog.jsonl (ref_id={ref.ref_id}): field '{bad_image[0]}': {bad_image[1]}")
            continue
        item, _ = ReferenceItem.objects.update_or_create(
            ref_key=ref.ref_id,
            defaults={"brand": brand, "title": ref.title, "description": ref.description, "msrp": ref.msrp,
                      "currency": ref.currency, "kind": ref.kind},
        )
        counts["references"] += 1
        counts["reference_images"] += _store_reference_images(item, ref.image_paths)

    for info in bundle.sellers.values():
        seller, created = Seller.objects.update_or_create(
            seller_key=info.seller_id,
            defaults={"name": getattr(info, "name", "") or info.seller_id, "account_age_days": info.account_age_days,
                      "prior_takedowns": info.prior_takedowns, "prior_sales": info.prior_sales},
        )
        if created:
            onboard_seller_history(seller)
        counts["sellers"] += 1
        for brand_id in info.authorized_brands:
            brand = known_brands.get(brand_id) or Brand.objects.filter(brand_key=brand_id).first()
            if brand is None:
                errors.append(f"authorized_sellers.jsonl (seller_id={info.seller_id}): field 'brand_id': unknown brand '{brand_id}'")
                continue
            _, made = AuthorizedSeller.objects.get_or_create(brand=brand, seller=seller)
            counts["authorized_sellers"] += int(made)
    return counts


def _first_bad_image(paths) -> tuple[str, str] | None:
    from django.conf import settings
    from ml.images import ImageError, load_image

    limits = settings.UPLOAD_LIMITS
    if not paths:
        return "images", "at least one image is required"
    for n, path in enumerate(paths):
        try:
            load_image(path, max_bytes=limits["MAX_IMAGE_BYTES"], max_pixels=limits["MAX_IMAGE_PIXELS"])
        except ImageError as exc:
            return f"images[{n}]", f"'{os.path.basename(path)}': {exc}"
    return None


def _brand_ids(bundle) -> set[str]:
    return {r.brand_id for r in bundle.references} | {b for s in bundle.sellers.values() for b in s.authorized_brands}


def _store_reference_images(item: ReferenceItem, paths) -> int:
    existing = {img.sha256: img for img in item.images.all()}
    keep = set()
    for position, path in enumerate(paths):
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        keep.add(digest)
        image = existing.get(digest)
        if image is None:
            image = ReferenceImage(reference=item, position=position, sha256=digest)
            image.image.save(f"{item.ref_key}-{position}{os.path.splitext(path)[1] or '.jpg'}", ContentFile(data), save=False)
        image.position = position
        image.save()
    item.images.exclude(sha256__in=keep).delete()
    return len(keep)


@transaction.atomic
def set_quarantine(reference: ReferenceItem, quarantined: bool, *, acting_user) -> ReferenceItem:
    from workers.banks import rebuild_banks

    before = reference.quarantined
    reference.quarantined = quarantined
    reference.save(update_fields=["quarantined"])
    audit.record("reference.quarantine", reference, actor=acting_user, before={"quarantined": before},
                 after={"quarantined": quarantined})
    transaction.on_commit(lambda: rebuild_banks.delay(reason=f"quarantine {reference.ref_key}"))
    return reference

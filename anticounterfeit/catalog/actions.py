"""Catalog changes: bundle import (brands, references, sellers, authorized sellers) and reference quarantine.

Validation of the bundle itself lives in ``ml.bundle`` (shared with the evaluation CLI); this module
turns the valid records into rows, keeps per-item errors, and queues the bank update on commit (the new and
changed references join the live banks as deltas).
"""
import csv
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from anticounterfeit.accounts.models import is_staff_role
from anticounterfeit.api.models import default_tenant
from anticounterfeit.core import audit, queue, tasks
from anticounterfeit.listings import actions as listing_actions
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import TAKEDOWN_REASONS, Case, Decision
from anticounterfeit.trust.actions import onboard_seller_history
from anticounterfeit.trust.models import TrustEvent
from ml.bundle import ZIP_MAX_MEMBERS, BundleError, bundle_root, member_problem, read_bundle
from ml.images import ImageError, load_image

from .models import AuthorizedSeller, Brand, BrandReport, ImportJob, ReferenceImage, ReferenceItem

log = logging.getLogger(__name__)


def find_seller(key: str) -> Seller | None:
    """A seller named by a brand: ``client-name/seller-id`` (the marketplace's own id), or a bare id of the
    default tenant. Seller ids are unique per marketplace only, so a bare id never reaches another tenant."""

    tenant_name, _, seller_key = key.rpartition("/")
    sellers = Seller.objects.filter(seller_key=seller_key)
    return (sellers.filter(client__name=tenant_name) if tenant_name else sellers.filter(client=default_tenant())).first()


def import_bundle(path: str, *, acting_user=None, rebuild: bool = True, job: ImportJob | None = None,
                  tenant=None) -> ImportJob:
    """Import a bundle folder or ZIP. Bad items are reported by file, line, id and field; the rest is kept.

    A job with a ``brand`` (a brand-portal upload) may only touch that brand: other brands' records, and
    seller data, are refused per item. Sellers (sellers.jsonl) belong to ``tenant`` (None: the default tenant).
    """
    from django.conf import settings


    if job is None:
        job = ImportJob.objects.create(source=str(path)[:500],
                                       created_by=acting_user if getattr(acting_user, "pk", None) else None)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    scratch_root = Path(settings.MEDIA_ROOT) / "tmp"  # ZIP members land under MEDIA_ROOT, never elsewhere
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=scratch_root) as scratch:
        bundle = read_bundle(str(path), extract_to=scratch)
        errors = list(job.errors or []) + [str(e) for e in bundle.errors]  # + members refused at upload
        changed: dict[str, list[str]] = {"ref_keys": [], "brand_keys": []}
        counts = _import_records(bundle, errors, acting_user, only_brand=job.brand, tenant=tenant, changed=changed)
    job.counts, job.errors = counts, errors
    job.status = ImportJob.Status.INDEXING if rebuild else ImportJob.Status.DONE
    job.finished_at = None if rebuild else timezone.now()
    job.save()
    audit.record("catalog.import", job, actor=acting_user, after={"counts": counts, "errors": len(errors)})
    if rebuild:  # the new and changed references join the live banks as deltas (a full build before the first)
        queue.enqueue(tasks.RECORD_CATALOG_CHANGE, reason=f"import #{job.pk}", import_job_id=job.pk, **changed)
    return job


@transaction.atomic
def finish_import_job(job_id: int, *, bank_version: int) -> None:
    """The banks are built: match the listings already in the system against the new version (workers.retro)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        return
    _set_job_state(job, status=ImportJob.Status.MATCHING, retro_done=0, retro_total=0, bank_version=bank_version)
    log.info("import #%s indexed into bank v%s; matching existing listings", job_id, bank_version)
    queue.enqueue(tasks.MATCH_EXISTING, job_id)


def _set_job_state(job: ImportJob, **changes) -> None:
    """Change an import job's progress fields (audited: the job is what the brand's progress bar shows)."""
    note = {key: changes.pop(key) for key in ("bank_version", "error") if key in changes}
    before = {field: getattr(job, field) for field in changes}
    for field, value in changes.items():
        setattr(job, field, value)
    job.save(update_fields=list(changes))
    audit.record("catalog.import_job", job, before={k: str(v) for k, v in before.items()},
                 after={**{k: str(v) for k, v in changes.items()}, **note})


@transaction.atomic
def fail_import_job(job_id: int, error: str) -> None:
    """A background import failed: the job shows why (the upload is kept for a retry)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is not None:
        _set_job_state(job, status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                       errors=[*job.errors, f"import failed: {error}"], error=error[:200])


@transaction.atomic
def start_retro_match(job_id: int | None, total: int) -> None:
    """Retroactive matching starts: the job counts the active listings it will rescan."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first() if job_id else None
    if job is not None:
        _set_job_state(job, retro_total=total, retro_done=0)


@transaction.atomic
def record_retro_progress(job_id: int | None, *, scanned: int, done: bool) -> None:
    """One batch of retroactive matching is scanned (``done``: nothing is left, or the next batch is not queued)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first() if job_id else None
    if job is None:
        return
    if done:
        _set_job_state(job, status=ImportJob.Status.DONE, finished_at=timezone.now(),
                       retro_done=max(job.retro_total, job.retro_done + scanned))
    else:
        _set_job_state(job, retro_done=job.retro_done + scanned)


def import_upload(job_id: int, path: str) -> int | None:
    """Import a portal upload (ZIP or folder under MEDIA_ROOT/uploads) for its queued job, then remove the upload.

    A failure other than the database's is shown on the job and the upload is kept for a retry.
    """
    from django.conf import settings

    job = ImportJob.objects.select_related("brand", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return None
    upload = Path(path)
    uploads = (Path(settings.MEDIA_ROOT) / "uploads").resolve()
    try:
        import_bundle(str(upload), acting_user=job.created_by, job=job)
    except (OperationalError, DatabaseError):
        raise  # transient: the task retries
    except Exception as exc:  # noqa: BLE001 - the job shows the failure; the upload is kept for a retry
        log.exception("import #%s failed", job_id)
        fail_import_job(job_id, str(exc))
        return None
    folder = upload.resolve()
    if uploads in folder.parents:  # remove the whole upload folder (ZIP, CSV bundle or picked folder)
        while folder.parent != uploads:
            folder = folder.parent
        shutil.rmtree(folder, ignore_errors=True)
    return job_id


@transaction.atomic
def _import_records(bundle, errors: list[str], acting_user, only_brand: Brand | None = None,
                    tenant=None, *, changed: dict[str, list[str]]) -> dict[str, int]:
    """Store the bundle's records; ``changed`` collects the keys of the brands and references written."""

    tenant = tenant or default_tenant()

    counts = {"brands": 0, "references": 0, "reference_images": 0, "sellers": 0, "authorized_sellers": 0}
    brands = {}
    for info in bundle.brands:
        if only_brand is not None and info.brand_id != only_brand.brand_key:
            errors.append(f"brands.jsonl (brand_id={info.brand_id}): field 'brand_id': not a brand you manage here")
            continue
        brand, _ = Brand.objects.update_or_create(
            brand_key=info.brand_id,
            defaults={"name": info.name, "aliases": list(info.aliases), "protected_terms": list(info.protected_terms)},
        )
        brands[info.brand_id] = brand
        changed["brand_keys"].append(brand.brand_key)
        counts["brands"] += 1
    if only_brand is not None:
        known_brands = {only_brand.brand_key: only_brand}
    else:
        known_brands = {b.brand_key: b for b in Brand.objects.filter(brand_key__in=_brand_ids(bundle))} | brands
    taken = dict(ReferenceItem.objects.filter(ref_key__in=[r.ref_id for r in bundle.references])
                 .values_list("ref_key", "brand__brand_key"))

    for ref in bundle.references:
        brand = known_brands.get(ref.brand_id)
        if brand is None:
            errors.append(f"catalog.jsonl (ref_id={ref.ref_id}): field 'brand_id': unknown brand '{ref.brand_id}'")
            continue
        if only_brand is not None and taken.get(ref.ref_id, brand.brand_key) != brand.brand_key:
            errors.append(f"catalog.jsonl (ref_id={ref.ref_id}): field 'ref_id': already used by another brand")
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
        changed["ref_keys"].append(item.ref_key)

    for info in bundle.sellers.values():
        if only_brand is not None:  # a brand may authorize existing sellers, never edit seller data
            seller = find_seller(info.seller_id)
            if seller is None:
                errors.append(f"sellers.jsonl (seller_id={info.seller_id}): field 'seller_id': unknown seller")
                continue
        else:
            seller = Seller.objects.of_tenant(tenant).filter(seller_key=info.seller_id).first()
            if seller is None:  # the onboarding record counts once, in the seller's HISTORY event
                seller = Seller.objects.create(
                    client=tenant, seller_key=info.seller_id, name=info.name or info.seller_id,
                    account_age_days=info.account_age_days, onboarded_takedowns=info.prior_takedowns,
                    prior_takedowns=info.prior_takedowns, prior_sales=info.prior_sales)
                onboard_seller_history(seller)
            else:  # prior_takedowns is derived from history (trust.actions), never overwritten by a re-import
                Seller.objects.filter(pk=seller.pk).update(name=info.name or info.seller_id,
                                                           account_age_days=info.account_age_days,
                                                           prior_sales=info.prior_sales)
            counts["sellers"] += 1
        for brand_id in info.authorized_brands:
            brand = known_brands.get(brand_id) or (Brand.objects.filter(brand_key=brand_id).first() if only_brand is None else None)
            if brand is None:
                errors.append(f"authorized_sellers.jsonl (seller_id={info.seller_id}): field 'brand_id': unknown brand '{brand_id}'")
                continue
            _, made = AuthorizedSeller.objects.get_or_create(brand=brand, seller=seller)
            counts["authorized_sellers"] += int(made)
    return counts


def _first_bad_image(paths) -> tuple[str, str] | None:
    from django.conf import settings


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
    before = reference.quarantined
    reference.quarantined = quarantined
    reference.save(update_fields=["quarantined"])
    audit.record("reference.quarantine", reference, actor=acting_user, before={"quarantined": before},
                 after={"quarantined": quarantined})
    if quarantined:  # a tombstone in the live banks; lifting a quarantine needs the reference embedded again
        queue.enqueue(tasks.EXCLUDE_REFERENCE, reference.ref_key)
    else:
        queue.enqueue(tasks.RECORD_CATALOG_CHANGE, reason=f"quarantine of {reference.ref_key} lifted",
                      ref_keys=[reference.ref_key])
    return reference


# ---- brand portal ----------------------------------------------------------------------------------------
def _upload_dir() -> Path:
    from django.conf import settings

    folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def _queue_import(brand: Brand, path: Path, source: str, acting_user) -> ImportJob:
    """Create the job the progress bar follows and hand the bundle to a worker once committed."""
    job = ImportJob.objects.create(source=source[:500], brand=brand, status=ImportJob.Status.QUEUED,
                                   created_by=acting_user if getattr(acting_user, "pk", None) else None)
    audit.record("catalog.upload", job, actor=acting_user, after={"brand": brand.brand_key, "source": source[:200]})
    queue.enqueue(tasks.IMPORT_UPLOAD, job.pk, str(path))
    return job


@transaction.atomic
def upload_bundle_zip(brand: Brand, upload, *, acting_user) -> ImportJob:
    """A ZIP bundle from the portal: stored under MEDIA_ROOT, validated and imported by a worker."""
    path = _upload_dir() / "bundle.zip"
    with open(path, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return _queue_import(brand, path, f"upload {_safe_name(upload.name)}", acting_user)


@transaction.atomic
def upload_bundle_folder(brand: Brand, files: list[tuple[str, object]], *, acting_user) -> ImportJob:
    """A picked folder: each file arrives with its path relative to the folder (``webkitRelativePath``).

    The files are rebuilt under this upload's own folder with the ZIP path's member rules
    (``ml.bundle.member_problem``: no traversal or absolute paths, bounded size and total); a refused member is
    reported by name on the job, like a bad ZIP member, and the rest is imported by the same worker job.
    """

    if len(files) > ZIP_MAX_MEMBERS:
        raise ValueError(f"files: too many files ({len(files)} > {ZIP_MAX_MEMBERS})")
    dest = (_upload_dir() / "bundle").resolve()
    dest.mkdir()
    label = (files[0][0].replace("\\", "/").split("/")[0] if files else "") or "folder"
    refused, total, seen = [], 0, set()
    for rel, upload in files:
        member = rel.replace("\\", "/")
        problem = member_problem(member, str(dest), upload.size, total)
        if problem is None and member in seen:
            problem = "duplicate path"
        if problem:
            refused.append(str(BundleError(f"folder {label}", None, member, None, problem)))
            continue
        target = dest / member
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        except OSError as exc:  # e.g. a file where another path needs a folder, or a name too long
            refused.append(str(BundleError(f"folder {label}", None, member, None,
                                           f"cannot be written ({exc.strerror or exc})")))
            continue
        seen.add(member)
        total += upload.size
    root = Path(bundle_root(str(dest)))
    job = _queue_import(brand, root, f"folder {_safe_name(label)} ({len(files)} files)", acting_user)
    if refused:
        ImportJob.objects.filter(pk=job.pk).update(errors=refused)
        job.errors = refused
    return job


CSV_COLUMNS = ["ref_id", "title", "description", "msrp", "currency", "kind", "images"]


@transaction.atomic
def upload_catalog_csv(brand: Brand, csv_file, images, *, acting_user) -> ImportJob:
    """CSV rows + image files become a bundle folder, so ``ml.bundle`` validates them like any bundle.

    ``images`` in a row names uploaded files, separated by ``;``.
    """
    text = csv_file.read().decode("utf-8-sig", errors="replace")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        record = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        record["brand_id"] = brand.brand_key
        names = [n.strip() for n in record.pop("images", "").split(";") if n.strip()]
        record["images"] = [f"images/{_safe_name(n)}" for n in names]
        if "msrp" in record:
            record["msrp"] = _number_or_text(record["msrp"])
        rows.append(record)
    files = {_safe_name(f.name): f.read() for f in images}
    folder = _write_bundle(brand, rows, files)
    return _queue_import(brand, folder, f"CSV {_safe_name(csv_file.name)}", acting_user)


@transaction.atomic
def save_reference(brand: Brand, *, acting_user, ref_key: str, title: str, description: str = "", msrp=None,
                   currency: str = "USD", kind: str = ReferenceItem.Kind.PRODUCT, images=()) -> ImportJob:
    """Add or edit one reference through the same bundle path (same validation, bank update and retro matching).

    Without new images an existing reference keeps its own.
    """
    existing = ReferenceItem.objects.filter(ref_key=ref_key).first()
    if existing is not None and existing.brand_id != brand.pk:
        raise ValueError("ref_key: already used by another brand")
    files = {f"{n}-{_safe_name(f.name)}": f.read() for n, f in enumerate(images)}
    if not files and existing is not None:
        files = {os.path.basename(i.image.name): i.image.read() for i in existing.images.all()}
    record = {"ref_id": ref_key, "brand_id": brand.brand_key, "title": title, "description": description,
              "msrp": float(msrp) if msrp is not None else None, "currency": currency, "kind": kind,
              "images": [f"images/{name}" for name in files]}
    folder = _write_bundle(brand, [record], files)
    return _queue_import(brand, folder, f"{'edit' if existing else 'add'} {ref_key}", acting_user)


@transaction.atomic
def delete_reference(reference: ReferenceItem, *, acting_user) -> None:
    key = reference.ref_key
    audit.record("reference.delete", reference, actor=acting_user, before={"ref_key": key, "title": reference.title})
    reference.delete()
    queue.enqueue(tasks.EXCLUDE_REFERENCE, key)  # a tombstone in the live banks, not a rebuild


def _safe_name(name: str) -> str:
    try:
        return get_valid_filename(os.path.basename(name))
    except Exception:  # noqa: BLE001 - e.g. '..': Django refuses it
        return "file"


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value  # left for ml.bundle to report as a bad field


def _write_bundle(brand: Brand, records: list[dict], files: dict[str, bytes]) -> Path:
    folder = _upload_dir()
    (folder / "images").mkdir()
    for name, data in files.items():
        (folder / "images" / name).write_bytes(data)
    (folder / "brands.jsonl").write_text(json.dumps({
        "brand_id": brand.brand_key, "name": brand.name, "aliases": brand.aliases,
        "protected_terms": brand.protected_terms}) + "\n")
    (folder / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


MATCHING_FIELDS = ("name", "aliases", "protected_terms")  # what text brand-mention detection reads


@transaction.atomic
def update_brand_profile(brand: Brand, *, acting_user, name: str, aliases: list[str], protected_terms: list[str],
                         trademark_numbers: list[str], contact_name: str, contact_email: str) -> ImportJob | None:
    """Save the profile. A change to the name, aliases or protected terms changes text matching: the new profile
    joins the live banks as a delta and the active listings are re-matched (as for a new reference), followed by
    the returned job."""
    fields = ["name", "aliases", "protected_terms", "trademark_numbers", "contact_name", "contact_email"]
    before = {f: getattr(brand, f) for f in fields}
    brand.name, brand.aliases, brand.protected_terms = name, aliases, protected_terms
    brand.trademark_numbers, brand.contact_name, brand.contact_email = trademark_numbers, contact_name, contact_email
    brand.save(update_fields=fields)
    audit.record("brand.profile", brand, actor=acting_user, before=before, after={f: getattr(brand, f) for f in fields})
    changed = [f for f in MATCHING_FIELDS if before[f] != getattr(brand, f)]
    if not changed:
        return None
    job = ImportJob.objects.create(source=f"profile: {', '.join(changed)} changed"[:500], brand=brand,
                                   status=ImportJob.Status.INDEXING,
                                   created_by=acting_user if getattr(acting_user, "pk", None) else None)
    queue.enqueue(tasks.RECORD_CATALOG_CHANGE, reason=f"profile of {brand.brand_key}", import_job_id=job.pk,
                  brand_keys=[brand.brand_key])
    return job


@transaction.atomic
def set_authorized_sellers(brand: Brand, *, acting_user, add: list[str] = (), remove: list[str] = ()) -> list[str]:
    """Add or remove authorizations by seller id; returns an error per unknown seller id (the rest is applied)."""
    errors = []
    added, removed = [], []
    for key in add:
        seller = find_seller(key)
        if seller is None:
            errors.append(f"seller_id '{key}': unknown seller")
            continue
        if AuthorizedSeller.objects.get_or_create(brand=brand, seller=seller)[1]:
            added.append(key)
    for key in remove:
        seller = find_seller(key)
        if seller is not None and AuthorizedSeller.objects.filter(brand=brand, seller=seller).delete()[0]:
            removed.append(key)
    if added or removed:
        audit.record("brand.authorized_sellers", brand, actor=acting_user, after={"added": added, "removed": removed})
    return errors


def seller_ids_from_csv(csv_file) -> list[str]:
    """The ``seller_id`` column (or the first column) of an uploaded CSV."""
    rows = list(csv.reader(io.StringIO(csv_file.read().decode("utf-8-sig", errors="replace"))))
    if not rows:
        return []
    column = rows[0].index("seller_id") if "seller_id" in rows[0] else 0
    start = 1 if "seller_id" in rows[0] else 0
    return [r[column].strip() for r in rows[start:] if len(r) > column and r[column].strip()][:5000]


class ReportRefused(Exception):
    """The listing cannot be reported now (already removed, already reported, not yet scanned)."""


REPORTABLE = {"clear", "in_review", "cleared", "reinstated"}


@transaction.atomic
def report_listing(listing, brand: Brand, *, acting_user, reason_code: str, note: str = "",
                   reference: ReferenceItem | None = None) -> BrandReport:
    """A brand flags a listing: a high-priority case with the report attached, or, under the self-service
    privilege, an immediate takedown (same consequences as a moderator's, trust kind ``brand_removal``)."""

    if reason_code not in TAKEDOWN_REASONS:
        raise ValueError(f"reason_code: '{reason_code}' is not a takedown reason")
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    brand = Brand.objects.get(pk=brand.pk)
    if listing.status not in REPORTABLE:
        raise ReportRefused(f"listing {listing.listing_key} is {listing.get_status_display().lower()}")
    if BrandReport.objects.filter(brand=brand, listing=listing, case__state__in=["open", "escalated"]).exists():
        raise ReportRefused(f"listing {listing.listing_key} is already reported and awaiting a moderator")
    if reference is not None and reference.brand_id != brand.pk:
        raise ValueError("reference: not one of this brand's references")
    # Opens the case, or turns the open scan case into a brand report (the report tier ranks it first).
    case = moderation.open_or_update_case(listing, listing.detections.first(), source=Case.Source.BRAND_REPORT)
    if listing.status != Listing.Status.IN_REVIEW:
        listing_actions.set_status(listing, Listing.Status.IN_REVIEW, acting_user=acting_user,
                                   reason=f"reported by {brand.name}")
    direct = brand.self_service and moderation.lease_is_free(case, acting_user) and case.state == Case.State.OPEN
    report = BrandReport.objects.create(brand=brand, listing=listing, case=case, reason_code=reason_code, note=note,
                                        reference=reference, direct_removal=direct,
                                        reported_by=acting_user if getattr(acting_user, "pk", None) else None)
    audit.record("brand.report", report, actor=acting_user,
                 after={"case": case.pk, "reason_code": reason_code, "direct_removal": direct})
    if direct:
        moderation.do_take_down(case.pk, acting_user=acting_user, reason_code=reason_code,
                                note=f"Self-service removal by {brand.name}. {note}".strip(),
                                trust_kind=TrustEvent.Kind.BRAND_REMOVAL)
    return report


@transaction.atomic
def reverse_brand_removal(report: BrandReport, *, acting_user, note: str = "") -> BrandReport:
    """A moderator undoes a brand's direct removal; it counts against the brand's accuracy."""

    if not is_staff_role(acting_user):
        raise PermissionError("only moderators can reverse a brand's removal")
    report = BrandReport.objects.select_related("case__listing").get(pk=report.pk)
    decision = Decision.objects.filter(case=report.case, action=Decision.Action.TAKEDOWN).first()
    if not report.direct_removal or decision is None or report.case.listing.status != Listing.Status.REMOVED:
        raise ValueError(f"report #{report.pk}: no removal in force to reverse")
    audit.record("brand.removal_reverse", report, actor=acting_user, after={"note": note, "decision": decision.pk})
    moderation.apply_reinstatement(decision, acting_user=acting_user, reason="brand removal reversed by a moderator")
    return report

"""Retroactive matching with a real worker: a reference added after a fake was listed still finds it. A catalog
change joins the live bank as deltas under a new bank number on the same folder: no full build, no reload."""
import json
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.catalog.actions import delete_reference, import_bundle, save_reference, set_quarantine
from anticounterfeit.catalog.models import Brand, ImportJob, ReferenceItem
from anticounterfeit.detection import bank_deltas
from anticounterfeit.detection.detector_cache import get_detector
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.listings.models import Listing
from ml.index import ReferenceIndex
from tests.support import wait_for

from .helpers import read_jsonl

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_new_reference_matches_listings_already_in_the_system(celery_worker_real, demo_bundle, tmp_path, make_user):
    refs = [r for r in read_jsonl(demo_bundle / "catalog.jsonl") if r.get("kind", "product") == "product"]
    held_out = refs[0]
    shutil.copytree(demo_bundle / "images", tmp_path / "images")
    shutil.copy(demo_bundle / "brands.jsonl", tmp_path / "brands.jsonl")
    (tmp_path / "catalog.jsonl").write_text("".join(
        json.dumps(r) + "\n" for r in read_jsonl(demo_bundle / "catalog.jsonl") if r["ref_id"] != held_out["ref_id"]))
    first = import_bundle(str(tmp_path))
    wait_for(lambda: ImportJob.objects.get(pk=first.pk).status == ImportJob.Status.DONE, timeout=300,
             message="first import indexed")

    image = (demo_bundle / held_out["images"][0]).read_bytes()
    accept_validated({"listing_id": "already-listed", "seller_id": "new-seller", "title": held_out["title"],
                      "description": "", "price": 9, "currency": "USD", "images": [{"filename": "x.jpg", "data": image}]})
    listing = wait_for(lambda: Listing.objects.exclude(status=Listing.Status.PENDING).filter(listing_key="already-listed")
                       .first(), timeout=180, message="listing scanned against the first bank")
    before = listing.detections.first()
    assert held_out["ref_id"] not in {m["ref_id"] for m in before.matches}

    brand = Brand.objects.get(brand_key=held_out["brand_id"])
    owner = make_user("owner", Role.BRAND_OWNER, brands=[brand])
    loaded = get_detector()[0]  # the worker (a thread of this process) holds the first version
    job = save_reference(brand, acting_user=owner, ref_key=held_out["ref_id"], title=held_out["title"],
                         msrp=held_out.get("msrp"), images=[SimpleUploadedFile("ref.jpg", image)])
    job = wait_for(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DONE).first(), timeout=300,
                   message="upload imported, indexed and matched against existing listings")
    assert job.errors == [] and job.retro_total >= 1 and job.retro_done == job.retro_total
    latest = BankVersion.objects.first().number
    after = listing.detections.filter(bank_version=latest).first()
    assert after is not None, "the existing listing was not rescanned against the new bank"
    assert held_out["ref_id"] in {m["ref_id"] for m in after.matches}
    listing.refresh_from_db()
    assert listing.status == Listing.Status.IN_REVIEW and listing.matched_brand == brand
    assert_no_full_build(BankDelta.Op.ADD_REFERENCE, held_out["ref_id"])
    assert get_detector() == (loaded, latest), "the worker adopted the new number without reloading the bank"


def assert_no_full_build(op: str, source_key: str) -> None:
    """The last catalog change was published as a delta on the first version's folder."""
    first, latest = BankVersion.objects.order_by("number").first(), BankVersion.objects.order_by("number").last()
    assert latest.number > first.number and latest.path == first.path, "a catalog change made a full build"
    assert BankDelta.objects.filter(op=op, source_key=source_key, pk__gt=first.deltas_upto).exists()


def indexed_by_worker(bundle):
    """Import a catalog through the worker (the first import builds bank v1); returns v1 and its first product
    reference."""
    first = import_bundle(str(bundle))
    wait_for(lambda: ImportJob.objects.get(pk=first.pk).status == ImportJob.Status.DONE, timeout=300,
             message="catalog indexed")
    return BankVersion.objects.get(), ReferenceItem.objects.filter(kind="product").order_by("ref_key").first()


def test_new_alias_in_the_profile_flags_a_listing_already_in_the_system(celery_worker_real, demo_bundle, make_user):
    """Text matching reads the brand's name, aliases and protected terms: adding an alias re-matches active listings."""
    from anticounterfeit.catalog.actions import update_brand_profile
    from tests.factories import jpeg_bytes

    indexed_by_worker(demo_bundle)
    accept_validated({"listing_id": "alias-listing", "seller_id": "alias-seller",
                      "title": "Zorblaxx Nightrunner trainers 1:1 mirror quality", "description": "Zorblaxx copy, cheap",
                      "price": 12, "currency": "USD", "images": [{"filename": "x.jpg", "data": jpeg_bytes((123, 45, 67))}]})
    listing = wait_for(lambda: Listing.objects.exclude(status=Listing.Status.PENDING).filter(listing_key="alias-listing")
                       .first(), timeout=180, message="listing scanned before the alias exists")
    assert listing.status == Listing.Status.CLEAR and listing.matched_brand is None, listing.detections.first().explanation

    brand = Brand.objects.get(brand_key=read_jsonl(demo_bundle / "brands.jsonl")[0]["brand_id"])
    owner = make_user("alias-owner", Role.BRAND_OWNER, brands=[brand])
    unchanged = update_brand_profile(brand, acting_user=owner, name=brand.name, aliases=brand.aliases,
                                     protected_terms=brand.protected_terms, trademark_numbers=["TM-1"],
                                     contact_name="Legal", contact_email="legal@example.com")
    assert unchanged is None  # contact details do not change matching: no rebuild
    job = update_brand_profile(brand, acting_user=owner, name=brand.name, aliases=[*brand.aliases, "Zorblaxx"],
                               protected_terms=brand.protected_terms, trademark_numbers=["TM-1"],
                               contact_name="Legal", contact_email="legal@example.com")
    assert job.source == "profile: aliases changed" and job.brand == brand
    from anticounterfeit.core.models import AuditEvent

    audit = AuditEvent.objects.filter(action="brand.profile", object_id=str(brand.pk), actor=owner).order_by("-pk").first()
    assert "Zorblaxx" in audit.after["aliases"] and "Zorblaxx" not in audit.before["aliases"]
    job = wait_for(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DONE).first(), timeout=300,
                   message="banks rebuilt with the alias and existing listings re-matched")
    assert job.retro_total >= 1 and job.retro_done == job.retro_total
    latest = BankVersion.objects.first().number
    after = listing.detections.filter(bank_version=latest).first()
    assert after is not None, "the existing listing was not rescanned against the new bank"
    listing.refresh_from_db()
    assert listing.status == Listing.Status.IN_REVIEW and listing.matched_brand == brand, after.explanation
    assert any("Zorblaxx" in line for line in after.explanation), after.explanation
    assert_no_full_build(BankDelta.Op.BRAND_PROFILE, brand.brand_key)


def test_deleting_a_reference_removes_it_from_the_bank(celery_worker_real, demo_bundle, make_user):
    before, ref = indexed_by_worker(demo_bundle)
    key = ref.ref_key
    assert key in ReferenceIndex.load(before.path).references
    owner = make_user("delete-owner", Role.BRAND_OWNER, brands=[ref.brand])
    delete_reference(ref, acting_user=owner)
    # A tombstone in the live banks, not a rebuild: every worker applies it to the bank it has loaded.
    tombstone = wait_for(lambda: BankDelta.objects.filter(op=BankDelta.Op.EXCLUDE_REFERENCE, source_key=key).first(),
                         timeout=120, message="the deleted reference's tombstone")
    index = ReferenceIndex.load(before.path)
    live = {name: len(index.rows_of(name, key)) for name in ("ref_image", "ref_text")}
    assert all(live.values()), live
    bank_deltas.apply(index, [tombstone])
    assert all(not index.rows_of(name, key) for name in ("ref_image", "ref_text", "ref_pdq"))
    assert BankVersion.objects.count() == 1, "a deleted reference rebuilds nothing"


def test_a_lifted_quarantine_brings_the_reference_back_as_a_delta(celery_worker_real, demo_bundle, make_user):
    v1, ref = indexed_by_worker(demo_bundle)
    key, lead = ref.ref_key, make_user("quarantine-lead", Role.LEAD)
    set_quarantine(ref, True, acting_user=lead)
    wait_for(lambda: BankDelta.objects.filter(op=BankDelta.Op.EXCLUDE_REFERENCE, source_key=key).exists(),
             timeout=120, message="the quarantined reference's tombstone")
    set_quarantine(ref, False, acting_user=lead)
    latest = wait_for(lambda: BankVersion.objects.filter(number__gt=v1.number).first(), timeout=300,
                      message="the lifted reference published as a delta")
    assert_no_full_build(BankDelta.Op.ADD_REFERENCE, key)
    index = ReferenceIndex.load(latest.path)  # what a worker holds: the folder, then every delta in order
    bank_deltas.apply(index, bank_deltas.deltas_after(latest.deltas_upto))
    assert all(index.rows_of(name, key) for name in ("ref_image", "ref_text", "ref_pdq")) and key not in index.excluded


def test_a_catalog_change_builds_in_full_when_the_live_folder_is_unusable(demo_bundle):
    """Deltas need a sound folder to add to: a lost one (or one of other models) gets a full build instead."""
    from anticounterfeit.detection.bank_builds import record_catalog_change

    import_bundle(str(demo_bundle), rebuild=False)
    BankVersion.objects.create(number=1, path="/nonexistent", counts={})
    number = record_catalog_change("test", ref_keys=list(ReferenceItem.objects.values_list("ref_key", flat=True)))
    built = BankVersion.objects.get(number=number)
    assert number == 2 and built.path != "/nonexistent" and built.counts["references"] > 0
    assert not BankDelta.objects.filter(op=BankDelta.Op.ADD_REFERENCE).exists()

"""OCR leaves the hot path: scans record a fast result, an OCR follow-up on the ``ocr`` queue replaces it.

Real worker (scan + ocr queues), real PostgreSQL/Redis, real models and OCR.
"""
import io
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anticounterfeit.api.intake import accept_validated
from anticounterfeit.catalog.models import Brand
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.detection.bank_builds import build_bank
from anticounterfeit.detection.detector_cache import get_detector
from anticounterfeit.detection.models import Detection, DetectionPolicy
from anticounterfeit.detection.policy import review_threshold_for
from anticounterfeit.detection.scanning import listing_input, requeue_ocr_followups, scan_listings
from anticounterfeit.listings.actions import set_status
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import Case
from anticounterfeit.trust.models import TrustEvent
from ml.ocr import ocr_available
from ml.types import ScanResult
from tests.factories import make_brand, make_reference, scanned_listing
from tests.support import wait_for
from workers.maintenance import requeue_stuck_listings

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
needs_ocr = pytest.mark.skipif(not ocr_available(), reason="the OCR package (rapidocr) is not installed")


def label_jpeg(word: str) -> bytes:
    """A product photo whose only brand evidence is a printed wordmark (as tests/unit/test_ml_ocr.py draws it)."""
    image = Image.new("RGB", (480, 360), (235, 230, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 120, 420, 260), fill=(30, 40, 90))
    draw.text((95, 155), word, font=ImageFont.load_default(size=64), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def footprint(listing) -> dict:
    """Everything a repeated follow-up must not multiply."""
    return {
        "detections": Detection.objects.filter(listing=listing).count(),
        "cases": Case.objects.filter(listing=listing).count(),
        "status_events": AuditEvent.objects.filter(action="listing.status", object_id=str(listing.pk)).count(),
        "replace_events": AuditEvent.objects.filter(action="detection.replace").count(),
        "trust_events": TrustEvent.objects.filter(seller=listing.seller).count(),
    }


@needs_ocr
def _zorbex_catalog() -> tuple[Brand, int]:
    """One brand, Zorbex, indexed; returns it and the bank version. The review threshold (0.3) lies between the fast
    score (no brand named anywhere it reads) and the full one (OCR finds ZORBEX): the follow-up alone moves a
    listing into review."""
    brand = make_brand("zorbex", "Zorbex")
    make_reference(brand, "zx-1")
    number = build_bank("test: zorbex catalog")
    DetectionPolicy.current()
    DetectionPolicy.objects.filter(pk=1).update(review_threshold=0.3)
    return brand, number


def _bag_named_only_in_its_photo(listing_id: str, **accept):
    return accept_validated({
        "listing_id": listing_id, "seller_id": "ocr-seller", "title": "Hot sale sports bag",
        "description": "Good quality, fast delivery.", "price": 9, "currency": "USD",
        "images": [{"filename": "bag.jpg", "data": label_jpeg("ZORBEX")}],
    }, **accept)


def test_brand_only_in_the_image_is_found_by_the_ocr_followup(celery_worker_real):
    brand, number = _zorbex_catalog()
    listing = _bag_named_only_in_its_photo("ocr-1")
    replaced = wait_for(lambda: AuditEvent.objects.filter(action="detection.replace").first(), timeout=240,
                        message="fast scan recorded, then replaced by the OCR follow-up")
    # The fast result was recorded first, without the OCR signal; the follow-up rewrote the same row.
    assert replaced.before["signals"]["mention_image"] == 0.0
    assert replaced.after["signals"]["mention_image"] == 1.0 and replaced.after["image_text"] is True
    assert replaced.after["score"] > replaced.before["score"]

    listing.refresh_from_db()
    detection = Detection.objects.get(listing=listing)  # one row per listing × bank version
    assert detection.bank_version == number and str(detection.pk) == replaced.object_id
    assert detection.signals["mention_image"] == 1.0 and "ZORBEX" in detection.image_text["0"]
    assert detection.brand == brand and listing.matched_brand == brand and listing.score == pytest.approx(detection.score)
    moves = AuditEvent.objects.filter(action="listing.status", object_id=str(listing.pk)).order_by("pk")
    assert [e.after["status"] for e in moves] == ["clear", "in_review"], "fast: clear; after OCR: in review"
    threshold = review_threshold_for(listing)
    assert replaced.before["score"] < threshold <= detection.score, (replaced.before, detection.score, threshold)
    case = Case.objects.get(listing=listing)
    assert case.detection_id == detection.pk and listing.status == Listing.Status.IN_REVIEW

    assert not detection.followup_pending
    # Idempotent: a redelivered or repeated follow-up finds nothing waiting and changes nothing.
    before, values = footprint(listing), (detection.score, detection.signals, detection.image_text)
    for _ in range(2):
        assert scan_listings([listing.pk], ocr_followup=True) == 0
    assert footprint(listing) == before
    detection.refresh_from_db()
    assert (detection.score, detection.signals, detection.image_text) == values
    listing.refresh_from_db()
    assert listing.status == Listing.Status.IN_REVIEW and Case.objects.get(listing=listing).detection_id == detection.pk
    # A fast rescan of the same bank version is a no-op: it cannot undo the follow-up.
    assert scan_listings([listing.pk]) == 0


def result(listing, score: float, *, brand_id: str | None = "acme", pending: bool = False, text: str = "") -> ScanResult:
    return ScanResult(listing_id=listing.listing_key, score=score, brand_id=brand_id,
                  signals={"image_sim": 0.2, "mention_image": 1.0 if text else 0.0}, explanation=["test"], matches=[],
                  image_vectors=np.ones((1, 8), dtype=np.float32), pdq_hashes=["ab" * 32], model_version="test",
                  image_text={0: text} if text else {}, followup_pending=pending)


def test_followup_never_withdraws_a_flag_and_leaves_decided_listings_alone():
    brand = make_brand()
    flagged = scanned_listing("F-1", "S-1", score=0.9, brand=brand, ref=make_reference(brand))
    assert flagged.status == Listing.Status.IN_REVIEW
    # The complete result scores lower: the case's evidence is updated, the flag stays for a moderator.
    record_detection(flagged.pk, result(flagged, 0.2, brand_id=None), bank_version=1, replace=True)
    flagged.refresh_from_db()
    assert flagged.status == Listing.Status.IN_REVIEW and Case.objects.open().filter(listing=flagged).exists()
    assert Detection.objects.get(listing=flagged).score == pytest.approx(0.2)

    removed = scanned_listing("F-2", "S-2", score=0.9, brand=brand)
    set_status(removed, Listing.Status.REMOVED, reason="test takedown")
    kept = Detection.objects.get(listing=removed)
    record_detection(removed.pk, result(removed, 0.1, text="ACME"), bank_version=1, replace=True)
    kept.refresh_from_db()
    assert kept.score == pytest.approx(0.9) and kept.image_text == {}, "decided evidence is never rewritten"


def test_provisional_fast_result_never_lowers_what_an_earlier_complete_scan_found():
    brand = make_brand()
    listing = scanned_listing("P-1", "S-3", score=0.3, brand=brand)  # bank v1, complete result (below 0.5)
    assert listing.status == Listing.Status.CLEAR and listing.matched_brand == brand
    # Bank v2 fast path: OCR still pending, lower score, no brand yet: the listing keeps its v1 score and brand.
    record_detection(listing.pk, result(listing, 0.1, brand_id=None, pending=True), bank_version=2)
    listing.refresh_from_db()
    assert listing.score == pytest.approx(0.3) and listing.matched_brand == brand
    # The follow-up's complete result is final, even when lower; it replaces the v2 row, the v1 row stays.
    record_detection(listing.pk, result(listing, 0.2, brand_id=None), bank_version=2, replace=True)
    listing.refresh_from_db()
    assert listing.score == pytest.approx(0.2) and listing.matched_brand is None
    assert list(listing.detections.values_list("bank_version", flat=True)) == [2, 1]
    # A provisional result that scores higher is taken at once (and would flag the listing at once).
    record_detection(listing.pk, result(listing, 0.95, pending=True), bank_version=3)
    listing.refresh_from_db()
    assert listing.score == pytest.approx(0.95) and listing.status == Listing.Status.IN_REVIEW


@needs_ocr
def test_followup_lost_to_a_broker_outage_is_requeued_by_the_sweeper(celery_worker_real):
    _zorbex_catalog()
    listing = _bag_named_only_in_its_photo("ocr-lost", enqueue=False)
    # The fast scan as workers.scan.scan_listings records it, but its follow-up never reaches the broker.
    detector, version = get_detector()
    [fast] = detector.scan([listing_input(listing)], ocr=False)
    assert fast.followup_pending
    record_detection(listing.pk, fast, bank_version=version, features_version=detector.models.version)
    waiting = Detection.objects.get(listing=listing)
    assert waiting.followup_pending and waiting.signals["mention_image"] == 0.0
    listing.refresh_from_db()
    assert listing.status == Listing.Status.CLEAR

    assert requeue_ocr_followups() == 0, "inside the grace period the queued follow-up may still be on its way"
    assert requeue_ocr_followups(older_than=timedelta(0)) == 1
    done = wait_for(lambda: Detection.objects.filter(listing=listing, followup_pending=False).first(), timeout=240,
                    message="the re-queued OCR follow-up ran on the real worker")
    assert done.pk == waiting.pk and done.signals["mention_image"] == 1.0 and "ZORBEX" in done.image_text["0"]
    listing.refresh_from_db()
    assert listing.status == Listing.Status.IN_REVIEW and Case.objects.get(listing=listing).detection_id == done.pk
    assert requeue_ocr_followups(older_than=timedelta(0)) == 0, "nothing waits any more"


def test_sweeper_skips_fresh_and_decided_followups_and_newer_results_supersede_the_flag(settings):
    def fast_listing(key: str):
        listing = accept_validated({"listing_id": key, "seller_id": "sweep-seller", "title": f"Bag {key}",
                                    "price": 9, "currency": "USD"}, enqueue=False)
        record_detection(listing.pk, result(listing, 0.1, brand_id=None, pending=True), bank_version=1)
        listing.refresh_from_db()
        assert listing.status == Listing.Status.CLEAR and listing.detections.get().followup_pending
        return listing

    make_brand()
    late, fresh, removed = fast_listing("late"), fast_listing("fresh"), fast_listing("removed")
    set_status(removed, Listing.Status.REMOVED, reason="test takedown")
    hour_ago = Detection.objects.first().created_at - timedelta(hours=1)
    Detection.objects.filter(listing__in=[late, removed]).update(created_at=hour_ago)

    assert requeue_ocr_followups(older_than=timedelta(minutes=10)) == 1, "only the late one: not fresh, not removed"
    assert requeue_ocr_followups(older_than=timedelta(minutes=10)) == 0, "re-queued once per grace period"
    assert not Detection.objects.get(listing=removed).followup_pending, "a decided listing is settled, never re-scanned"
    assert Detection.objects.get(listing=fresh).followup_pending and Detection.objects.get(listing=late).followup_pending

    # A complete result of a newer bank version supersedes the old fast result's flag; the follow-up clears its own.
    record_detection(late.pk, result(late, 0.2, brand_id=None), bank_version=2)
    assert list(late.detections.values_list("bank_version", "followup_pending")) == [(2, False), (1, False)]
    record_detection(fresh.pk, result(fresh, 0.2, brand_id=None), bank_version=1, replace=True)
    assert not Detection.objects.get(listing=fresh).followup_pending
    assert requeue_ocr_followups(older_than=timedelta(0)) == 0

    # The beat sweeper task runs it with the configured grace.
    fast_listing("beat")
    settings.DETECTION = {**settings.DETECTION, "OCR_FOLLOWUP_GRACE": timedelta(0)}
    assert requeue_stuck_listings() == 1

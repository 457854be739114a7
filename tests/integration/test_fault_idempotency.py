"""Redelivered and repeated scans are harmless: no duplicate detections, cases, status changes or trust events."""
import numpy as np
import pytest

from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.detection.models import Detection
from anticounterfeit.moderation.models import Case
from anticounterfeit.trust.models import TrustEvent
from ml.types import ScanResult
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def result_for(listing, score: float) -> ScanResult:
    return ScanResult(listing_id=listing.listing_key, score=score, brand_id="acme", signals={"image_sim": score},
                  explanation=["test"], matches=[], image_vectors=np.ones((1, 8), dtype=np.float32),
                  pdq_hashes=["ab" * 32], model_version="test")


def counts(listing) -> tuple[int, int, int, int]:
    return (Detection.objects.filter(listing=listing).count(), Case.objects.filter(listing=listing).count(),
            AuditEvent.objects.filter(action="listing.status", object_id=str(listing.pk)).count(),
            TrustEvent.objects.filter(seller=listing.seller).count())


def test_same_bank_version_redelivered_is_a_no_op():
    brand = make_brand()
    listing = scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=make_reference(brand))
    before = counts(listing)
    assert before[:3] == (1, 1, 1)
    for _ in range(3):
        record_detection(listing.pk, result_for(listing, 0.97), bank_version=1)
    assert counts(listing) == before


def test_rescan_with_a_new_bank_updates_the_open_case_instead_of_opening_another():
    brand = make_brand()
    listing = scanned_listing("L-2", "S-2", score=0.95, brand=brand, ref=make_reference(brand))
    trust_before = counts(listing)[3]
    record_detection(listing.pk, result_for(listing, 0.99), bank_version=2)
    record_detection(listing.pk, result_for(listing, 0.99), bank_version=2)
    detections, cases, transitions, trust = counts(listing)
    assert (detections, cases, trust) == (2, 1, trust_before)
    assert transitions == 1, "the listing stays in review; no second status change"
    listing.refresh_from_db()
    assert listing.score == pytest.approx(0.99)

"""The API queues one scan task per listing; a task scans its listing together with other waiting ones."""
import pytest

from anticounterfeit.api.intake import accept_validated
from anticounterfeit.catalog.models import AuthorizedSeller
from anticounterfeit.core import locks
from anticounterfeit.detection import detector_cache as runtime
from anticounterfeit.detection.actions import ScanBatchContext, record_detection
from anticounterfeit.detection.models import Detection, DetectionPolicy
from anticounterfeit.detection.scanning import (
    SCAN_BATCH,
    SCAN_CLAIM_SECONDS,
    claim_key,
    listing_input,
    listings_for_scan,
)
from anticounterfeit.listings.models import Listing
from tests.factories import jpeg_bytes, make_brand
from workers.scan import scan_listing

from .procs import indexed_catalog

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _pending(n: int) -> list[int]:
    return [accept_validated({"listing_id": f"flood-{k}", "seller_id": f"s{k % 3}", "title": f"Leather bag {k}",
                              "images": [{"filename": "a.jpg", "data": jpeg_bytes((20 * k % 255, 90, 160))}]},
                             enqueue=False).pk for k in range(n)]


def test_single_listing_tasks_scan_waiting_listings_in_batches_without_taking_claimed_ones(demo_bundle):
    indexed_catalog(demo_bundle)
    runtime._state.update(version=None, detector=None)
    ids = _pending(11)
    client = locks._redis()
    client.delete(*[claim_key(pk) for pk in ids])  # claims left by an earlier run on this Redis
    assert locks.take_once(claim_key(ids[3]), SCAN_CLAIM_SECONDS)  # in another worker's batch right now

    assert scan_listing(ids[0]) == SCAN_BATCH  # its own listing + the 7 oldest unclaimed waiting ones
    status = dict(Listing.objects.filter(pk__in=ids).values_list("pk", "status"))
    still = [pk for pk in ids if status[pk] == Listing.Status.PENDING]
    assert still == [ids[3], ids[9], ids[10]]
    assert 0 < client.ttl(claim_key(ids[1])) <= SCAN_CLAIM_SECONDS
    assert not client.exists(claim_key(ids[9]), claim_key(ids[10]))  # never more claimed than a batch takes

    assert scan_listing(ids[1]) == 2  # already scanned in the batch: only the two unclaimed stragglers
    assert scan_listing(ids[3]) == 1  # a claimed listing's own task still scans it (its claimer may have died)
    assert scan_listing(ids[9]) == 0  # everything scanned: one query
    assert not Listing.objects.filter(pk__in=ids, status=Listing.Status.PENDING).exists()
    assert sorted(Detection.objects.filter(listing__in=ids).values_list("listing_id", flat=True)) == sorted(ids)


def test_a_batch_reads_its_listings_sellers_and_authorisations_in_a_fixed_number_of_queries(
        django_assert_num_queries):
    ids = _pending(6)  # sellers s0, s1, s2, s0, s1, s2
    brand = make_brand()
    AuthorizedSeller.objects.create(brand=brand, seller=Listing.objects.get(pk=ids[0]).seller)
    with django_assert_num_queries(4):  # listings + sellers, images, authorisations, their brands
        inputs = [listing_input(item) for item in listings_for_scan(ids)]
    authorized = {item.listing_id: item.seller.authorized_brands for item in inputs}
    assert authorized == {f"flood-{k}": (frozenset({brand.brand_key}) if k % 3 == 0 else frozenset())
                          for k in range(6)}


def test_a_batch_records_its_results_in_a_few_queries_per_listing(demo_bundle, django_assert_max_num_queries):
    """What a batch shares (policy, images, allow-rule owners) is read once; each listing then costs its lock, its
    earlier results and the writes (detection, image features, listing with status, audit) inside its savepoint."""
    indexed_catalog(demo_bundle)
    runtime._state.update(version=None, detector=None)
    ids = _pending(SCAN_BATCH)
    detector, bank_version = runtime.get_detector()
    listings = listings_for_scan(ids)
    results = detector.scan([listing_input(item) for item in listings], ocr=False)
    DetectionPolicy.current()  # the policy row exists (its first read creates it)
    with django_assert_max_num_queries(2 + 8 * SCAN_BATCH):
        context = ScanBatchContext.of(listings)
        for listing, result in zip(listings, results, strict=True):
            record_detection(listing.pk, result, bank_version=bank_version, context=context)
    assert not Listing.objects.filter(pk__in=ids, status=Listing.Status.PENDING).exists()
    assert Detection.objects.filter(listing__in=ids).count() == SCAN_BATCH


def test_bulk_intake_leaves_the_queueing_to_its_caller(django_capture_on_commit_callbacks):
    """``ingest_listings`` accepts with ``enqueue=False`` and queues ``scan_batch`` itself: no task per listing too."""
    item = {"listing_id": "bulk-1", "seller_id": "s1", "title": "Canvas tote"}
    with django_capture_on_commit_callbacks() as queued:
        accept_validated(item, enqueue=False)
    assert queued == []
    with django_capture_on_commit_callbacks() as queued:
        accept_validated({**item, "listing_id": "api-1"})
    assert len(queued) == 1  # the API's scan_listing, sent once the listing is committed

"""The confirmed-counterfeit bank is built from features stored at scan time; removed listings are never
rescanned, so build_bank recomputes the ones computed by other models (e.g. after a PDQ or embedder change)."""
import io
import logging
import os

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from anticounterfeit.api.intake import accept_validated
from anticounterfeit.detection import detector_cache as runtime
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.detection.bank_builds import build_bank, refresh_counterfeit_features
from anticounterfeit.detection.models import BankVersion
from anticounterfeit.detection.scanning import scan_listings
from anticounterfeit.listings.models import Listing, ListingImage, media_path
from anticounterfeit.moderation.actions import do_take_down
from anticounterfeit.moderation.models import Case
from ml.config import DetectorConfig
from ml.images import load_image
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.pdq import pdq_hex
from ml.types import ScanResult
from tests.factories import make_brand, make_reference

pytestmark = [pytest.mark.services, pytest.mark.django_db]
DIM = 1280
WRONG_PDQ, SENTINEL_PDQ = "ff" * 32, "0f" * 32


def pattern_jpeg(seed: int) -> bytes:
    """A textured photo (a plain colour has a degenerate PDQ hash that would match any other plain image)."""
    blocks = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((320, 240), Image.Resampling.NEAREST).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@pytest.fixture
def catalog():
    brand = make_brand("acme", "Acme")
    make_reference(brand, "ref-a")
    return brand


def removed_listing(key: str, seeds: list[int], *, brand, moderator, features_version: str, vectors, pdqs) -> Listing:
    """Accept, record a scan with the given stored features (as a worker of ``features_version`` would), take down."""
    listing = accept_validated({
        "listing_id": key, "seller_id": f"seller-{key}", "title": f"Acme bag {key}", "price": 20, "currency": "USD",
        "images": [{"filename": f"{seed}.jpg", "data": pattern_jpeg(seed)} for seed in seeds],
    }, enqueue=False)
    BankVersion.objects.get_or_create(number=1, defaults={"path": "/nonexistent", "counts": {}})
    result = ScanResult(listing_id=key, score=0.97, brand_id=brand.brand_key, signals={"image_sim": 0.9},
                       explanation=["test"], matches=[], image_vectors=np.asarray(vectors, np.float32),
                       pdq_hashes=list(pdqs), model_version=f"{features_version}/scorer/index")
    record_detection(listing.pk, result, bank_version=1)
    do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.REMOVED
    return listing


def file_features(image: ListingImage) -> tuple[np.ndarray, str]:
    """What the detector computes for this image file."""
    models, limits = load_models(), DetectorConfig()
    picture = load_image(media_path(image.image), max_bytes=limits.limits.max_image_bytes,
                         max_pixels=limits.limits.max_image_pixels, draft_size=models.image.config.draft_size)
    return models.image.embed([picture], regions=False)[0][0], pdq_hex(picture)


def test_stale_features_are_recomputed_and_the_counterfeit_bank_matches_a_copy(catalog, moderator, settings):
    current = load_models().version
    stale = removed_listing("cf-stale", [1, 2], brand=catalog, moderator=moderator, features_version="old-models",
                            vectors=[unit(np.ones(DIM)), unit(np.arange(DIM) + 1.0)], pdqs=[WRONG_PDQ, WRONG_PDQ])
    sentinel_vector = unit(np.eye(DIM)[0])
    fresh = removed_listing("cf-current", [3], brand=catalog, moderator=moderator, features_version=current,
                            vectors=[sentinel_vector], pdqs=[SENTINEL_PDQ])
    assert set(stale.images.values_list("features_version", flat=True)) == {"old-models"}

    number = build_bank("test")

    for image in stale.images.all():
        vector, pdq = file_features(image)
        assert image.features_version == current
        assert image.pdq == pdq != WRONG_PDQ
        assert np.allclose(np.frombuffer(bytes(image.vector), np.float32), vector, atol=1e-4)
    [kept] = fresh.images.all()  # already at the current version: not recomputed
    assert (kept.features_version, kept.pdq) == (current, SENTINEL_PDQ)
    assert np.array_equal(np.frombuffer(bytes(kept.vector), np.float32), sentinel_vector)

    bank = BankVersion.objects.get(number=number)
    assert bank.counts["cf_image"] == 3 and bank.counts["cf_pdq"] == 3
    index = ReferenceIndex.load(bank.path)
    copy = load_image(pattern_jpeg(2), draft_size=load_models().image.config.draft_size)
    distances, ids = index.cf_pdq.search([pdq_hex(copy)], 1)
    assert distances[0][0] == 0 and index.cf_pdq.meta[ids[0][0]]["ref_id"] == f"cf-{stale.pk}"

    # End to end: a new listing re-using the removed listing's photo is scanned against the rebuilt bank.
    runtime._state.update(version=None, detector=None)
    repost = accept_validated({"listing_id": "repost", "seller_id": "other", "title": "Bag", "price": 20,
                               "currency": "USD", "images": [{"filename": "r.jpg", "data": pattern_jpeg(2)}]},
                              enqueue=False)
    assert scan_listings([repost.pk]) == 1
    detection = repost.detections.get()
    assert detection.bank_version == number
    assert detection.signals["cf_pdq_match"] == 1.0
    [image] = repost.images.all()
    assert image.features_version == current  # the scan stores the version with the features


def test_unreadable_file_is_skipped_and_the_rest_refreshed(catalog, moderator, caplog):
    listing = removed_listing("cf-broken", [4, 5], brand=catalog, moderator=moderator, features_version="old",
                              vectors=[unit(np.ones(DIM))] * 2, pdqs=[WRONG_PDQ] * 2)
    missing, readable = listing.images.all()
    os.remove(media_path(missing.image))

    with caplog.at_level(logging.WARNING, logger="anticounterfeit.detection.bank_builds"):
        number = build_bank("test")

    assert any("cf-broken" in r.getMessage() and "image 0" in r.getMessage() for r in caplog.records)
    missing.refresh_from_db()
    readable.refresh_from_db()
    assert (missing.features_version, missing.pdq) == ("old", WRONG_PDQ)  # left as it was
    assert readable.features_version == load_models().version and readable.pdq == file_features(readable)[1]
    # Only current features enter the bank: the stale row stays out until a build can read its file.
    counts = BankVersion.objects.get(number=number).counts
    assert counts["cf_image"] == 1 and counts["cf_pdq"] == 1


def test_refresh_batches_its_updates(catalog, moderator):
    for n in range(3):
        removed_listing(f"cf-{n}", [10 + n], brand=catalog, moderator=moderator, features_version="old",
                        vectors=[unit(np.ones(DIM))], pdqs=[WRONG_PDQ])
    listings = list(Listing.objects.filter(status=Listing.Status.REMOVED).prefetch_related("images"))
    with CaptureQueriesContext(connection) as queries:
        assert refresh_counterfeit_features(listings, load_models(), batch=2) == 3
    assert len(queries) == 2, [q["sql"][:80] for q in queries]  # one UPDATE per batch, no per-row reads
    with CaptureQueriesContext(connection) as queries:
        assert refresh_counterfeit_features(listings, load_models()) == 0  # now current: nothing to do
    assert len(queries) == 0


def test_scan_features_are_paired_with_the_images_that_decoded(catalog):
    """An image that failed to decode has no row in the result: the next image's features are not shifted onto it."""
    listing = accept_validated({
        "listing_id": "two", "seller_id": "s", "title": "Bag", "price": 20, "currency": "USD",
        "images": [{"filename": f"{seed}.jpg", "data": pattern_jpeg(seed)} for seed in (7, 8)],
    }, enqueue=False)
    BankVersion.objects.get_or_create(number=1, defaults={"path": "/nonexistent", "counts": {}})
    second = unit(np.arange(DIM) + 1.0)
    result = ScanResult(listing_id="two", score=0.1, brand_id=None, signals={}, explanation=[], matches=[],
                       image_vectors=second[None, :], pdq_hashes=[SENTINEL_PDQ], model_version="m1/s/i",
                       errors=["image 1 (7.jpg): not a valid image (OSError: truncated)"], image_positions=[1])
    record_detection(listing.pk, result, bank_version=1)
    first, other = listing.images.all()
    assert (first.vector, first.pdq, first.features_version) == (None, "", "")
    assert (other.pdq, other.features_version) == (SENTINEL_PDQ, "m1")
    assert np.array_equal(np.frombuffer(bytes(other.vector), np.float32), second)

"""The confirmed-counterfeit bank is shared: a fake taken down at marketplace A is caught when it is re-uploaded
at marketplace B (as hash exchanges do), and B's case shows nothing of A's seller or listing."""
import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.detection import detector_cache
from anticounterfeit.detection.actions import update_detection_policy
from anticounterfeit.detection.bank_builds import build_bank
from anticounterfeit.detection.scanning import scan_listings
from anticounterfeit.moderation.actions import do_take_down
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def photo(seed: int) -> bytes:
    """A textured photo (a plain colour has a degenerate PDQ hash)."""
    blocks = np.random.default_rng(seed).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((320, 240), Image.Resampling.NEAREST).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_a_fake_confirmed_at_a_is_flagged_at_b_without_a_seller_data(make_user):
    make_reference(make_brand("acme", "Acme"), "ref-a")
    moderator = make_user("mod", Role.MODERATOR)
    update_detection_policy(acting_user=make_user("admin", Role.ADMIN), review_threshold=0.05,
                            high_priority_threshold=0.9)  # A's fake must reach review to be taken down
    tenants = {k: MarketplaceClient.objects.create(name=f"Market {k}", user=make_user(f"api-{k}", Role.API_CLIENT))
               for k in "AB"}
    fake_a = accept_validated({"listing_id": "A-secret-listing", "seller_id": "A-secret-seller",
                               "seller_name": "Alice Fakes Ltd", "seller_email": "alice@a.example",
                               "title": "Acme bag", "price": 20, "images": [{"filename": "f.jpg", "data": photo(7)}]},
                              client=tenants["A"], enqueue=False)
    build_bank("test: catalog")
    detector_cache._state.update(version=None, detector=None)
    assert scan_listings([fake_a.pk]) == 1
    do_take_down(Case.objects.get(listing=fake_a).pk, acting_user=moderator, rebuild=False)
    build_bank("test: A's takedown")
    detector_cache._state.update(version=None, detector=None)

    repost = accept_validated({"listing_id": "B-1", "seller_id": "B-seller", "title": "Bag", "price": 20,
                               "images": [{"filename": "r.jpg", "data": photo(7)}]}, client=tenants["B"], enqueue=False)
    assert scan_listings([repost.pk]) == 1
    detection = repost.detections.get()
    assert detection.signals["cf_pdq_match"] == 1.0  # the shared bank caught it at B
    counterfeit = [m for m in detection.matches if m["kind"] == "counterfeit"]
    assert counterfeit and counterfeit[0]["ref_id"] == f"cf-{fake_a.pk}"  # an opaque bank id
    secrets_of_a = ("A-secret-listing", "A-secret-seller", "Alice Fakes", "alice@a.example", "Market A")
    stored = repr(detection.matches) + repr(detection.explanation) + repr(detection.signals)
    assert not [s for s in secrets_of_a if s in stored]

    repost.refresh_from_db()
    assert repost.status == "in_review", (repost.status, detection.score, detection.explanation)  # flagged at B
    case = Case.objects.get(listing=repost)
    browser = Client()
    browser.force_login(moderator)
    page = browser.get(f"/console/cases/{case.pk}/").content.decode()
    assert "B-seller" in page and "Market B" in page
    assert not [s for s in secrets_of_a if s in page], "B's case page shows A's seller data"

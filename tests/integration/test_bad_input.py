"""Bad input gets a clear error naming the item and the field; the rest of the batch is kept."""
import base64
import io
import json

import pytest
from PIL import Image

from anticounterfeit.catalog.actions import import_bundle
from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.listings.models import Listing
from tests.factories import jpeg_bytes, market_api

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def huge_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG")  # 81 Mpx, a few KB: a decompression bomb
    return buffer.getvalue()


def test_api_batch_keeps_good_items_and_names_bad_ones(api):
    good = {"listing_id": "ok-1", "seller_id": "s1", "title": "Plain canvas tote", "price": "12.50",
            "images": [{"filename": "a.jpg", "content_base64": b64(jpeg_bytes())}]}
    corrupt = {**good, "listing_id": "bad-image", "images": [{"filename": "broken.jpg",
                                                              "content_base64": b64(jpeg_bytes()[:200])}]}
    bomb = {**good, "listing_id": "bomb", "images": [{"filename": "huge.png", "content_base64": b64(huge_png())}]}
    missing = {"listing_id": "no-title", "seller_id": "s1"}
    negative = {**good, "listing_id": "neg", "price": "-3"}
    response = api.post("/api/v1/listings/batch", {"listings": [good, corrupt, bomb, missing, negative]}, format="json")
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "rejected", "rejected"]
    assert "broken.jpg" in json.dumps(results[1]["errors"]) and "images" in results[1]["errors"]
    assert "pixels" in json.dumps(results[2]["errors"]) or "bomb" in json.dumps(results[2]["errors"])
    assert "title" in results[3]["errors"]
    assert "price" in results[4]["errors"]
    assert list(Listing.objects.values_list("listing_key", flat=True)) == ["ok-1"]


@pytest.mark.parametrize("content", ["\ud800" + b64(b"x" * 30), b64(b"x" * 30) + "é", "%%%%"],
                         ids=["lone-surrogate", "non-ascii", "outside-alphabet"])
def test_api_names_the_image_whose_base64_is_not_plain_base64(api, content):
    """The base64 field skips DRF's per-character surrogate scan (slow on photos): decoding must refuse it."""
    item = {"listing_id": "b64", "seller_id": "s1", "title": "Mug",
            "images": [{"filename": "odd.jpg", "content_base64": content}]}
    # The body as a marketplace would send it (JSON escapes: the test client cannot encode a lone surrogate).
    response = api.post("/api/v1/listings", json.dumps(item), content_type="application/json")
    assert response.status_code == 400
    assert "image 'odd.jpg': not valid base64" in json.dumps(response.json(), ensure_ascii=False)
    assert not Listing.objects.exists()


def test_api_rejects_duplicates_and_other_clients_cannot_read(api, make_user):
    item = {"listing_id": "dup", "seller_id": "s1", "title": "Mug"}
    assert api.post("/api/v1/listings", item, format="json").status_code == 201
    again = api.post("/api/v1/listings", item, format="json")
    assert again.status_code == 409 and "listing_id" in again.json()
    client_b = market_api(make_user, "market-b", "Market B")
    assert client_b.get("/api/v1/listings/dup").status_code == 404
    assert api.get("/api/v1/listings/dup").status_code == 200


def test_catalog_import_reports_unknown_brand_and_keeps_the_rest(tmp_path):
    (tmp_path / "images" / "ref").mkdir(parents=True)
    (tmp_path / "images" / "ref" / "a.jpg").write_bytes(jpeg_bytes())
    (tmp_path / "images" / "ref" / "bad.jpg").write_bytes(b"not an image at all")
    (tmp_path / "brands.jsonl").write_text(json.dumps(
        {"brand_id": "b1", "name": "Brandy", "aliases": [], "protected_terms": []}) + "\n")
    lines = [
        {"ref_id": "r1", "brand_id": "b1", "title": "Runner", "description": "", "msrp": 100, "currency": "USD",
         "images": ["images/ref/a.jpg"], "kind": "product"},
        {"ref_id": "r2", "brand_id": "nope", "title": "Ghost", "description": "", "msrp": 100, "currency": "USD",
         "images": ["images/ref/a.jpg"], "kind": "product"},
        {"ref_id": "r3", "brand_id": "b1", "title": "Broken", "description": "", "msrp": 100, "currency": "USD",
         "images": ["images/ref/bad.jpg"], "kind": "product"},
        {"ref_id": "r4", "brand_id": "b1", "title": "Escape", "description": "", "msrp": 100, "currency": "USD",
         "images": ["../../etc/passwd"], "kind": "product"},
    ]
    (tmp_path / "catalog.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    job = import_bundle(str(tmp_path), rebuild=False)
    text = "\n".join(job.errors)
    assert "r2" in text and "brand_id" in text
    assert "r3" in text and "r4" in text
    assert "line 5" in text
    assert list(ReferenceItem.objects.values_list("ref_key", flat=True)) == ["r1"]
    assert Brand.objects.get(brand_key="b1").references.count() == 1

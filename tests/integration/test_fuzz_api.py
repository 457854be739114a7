"""Property-based abuse of the listing API (hypothesis): whatever arrives, the answer is a clean 201 or a 4xx
naming the field, never a 500; hostile images are refused or stored safely inside MEDIA_ROOT and scanned
by the real detector without crashing it.
"""
import base64
import io
import os
import struct

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from anticounterfeit.api.serializers import ListingIntakeSerializer
from anticounterfeit.listings.models import Listing, ListingImage
from tests.factories import jpeg_bytes, market_api
from tests.strategies import json_values, nasty_value

pytestmark = [pytest.mark.services, pytest.mark.django_db]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FIELDS = set(ListingIntakeSerializer().fields) | {"non_field_errors"}



@pytest.fixture
def api(make_user):
    cache.clear()
    return market_api(make_user, "market-fuzz", "Market fuzz")


def assert_clean(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code == 400:
        body = response.json()
        assert isinstance(body, dict) and body, body
        assert set(body) <= FIELDS, f"errors must name the fields: {sorted(body)}"


@FUZZ
@given(payload=json_values)
def test_random_json_never_500(api, payload):
    assert_clean(api.post("/api/v1/listings", payload, format="json"))
    response = api.post("/api/v1/listings/batch", {"listings": payload}, format="json")
    assert response.status_code < 500, response.content[:500]


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["listing_id", "seller_id", "title", "description", "price",
                                               "currency", "seller_name", "seller_email", "images"]),
                              nasty_value, max_size=9),
       listing_id=st.text(min_size=1, max_size=70))
def test_listing_fields_with_wrong_types_and_hostile_text(api, fields, listing_id):
    payload = {"listing_id": listing_id, "seller_id": "s-fuzz", "title": "Tote", **fields}
    response = api.post("/api/v1/listings", payload, format="json")
    assert_clean(response)
    if response.status_code == 201:
        listing = Listing.objects.get(listing_key=response.json()["listing_id"])
        assert "\x00" not in listing.title + listing.description
        assert listing.price is None or 0 <= listing.price <= 10_000_000


def test_batch_with_duplicate_ids_names_the_duplicate(api):
    item = {"listing_id": "same", "seller_id": "s1", "title": "Mug"}
    response = api.post("/api/v1/listings/batch", {"listings": [item, item, {**item, "listing_id": "other"}]},
                        format="json")
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert "already submitted" in str(results[1]["errors"]["listing_id"])


def test_oversized_batch_and_body_are_refused_cleanly(api):
    item = {"listing_id": "x", "seller_id": "s1", "title": "Mug"}
    too_many = api.post("/api/v1/listings/batch", {"listings": [item] * (django_settings.UPLOAD_LIMITS["MAX_BATCH"] + 1)},
                        format="json")
    assert too_many.status_code == 400 and "listings" in too_many.json()
    garbage = api.generic("POST", "/api/v1/listings", b"{not json", content_type="application/json")
    assert garbage.status_code == 400


# ---- hostile images ---------------------------------------------------------------------------------------

def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90°
    return _save(Image.new("RGB", (120, 60), (10, 200, 10)), "JPEG", exif=exif)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (64, 64), i * 40) for i in range(4)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def _png_header_claiming(width: int, height: int) -> bytes:
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


HOSTILE = {
    "bomb.png": _save(Image.new("1", (9000, 9000)), "PNG"),
    "header-bomb.png": _png_header_claiming(100_000, 100_000),
    "truncated.jpg": jpeg_bytes(size=(300, 300))[:700],
    "cmyk.jpg": _save(Image.new("CMYK", (80, 80), (0, 120, 200, 10)), "JPEG"),
    "sixteen-bit.png": _save(Image.new("I;16", (80, 80), 4000), "PNG"),
    "animated.gif": _animated_gif(),
    "rotated.jpg": _exif_rotated(),
    "rgba.png": _save(Image.new("RGBA", (50, 50), (1, 2, 3, 0)), "PNG"),
    "tiny.png": _save(Image.new("RGB", (1, 1)), "PNG"),
    "random.jpg": os.urandom(4096),
    "empty.jpg": b"",
    "svg.jpg": b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    "../../../../tmp/ac-h7-traversal.jpg": jpeg_bytes(),
    "..\\..\\evil.jpg": jpeg_bytes(),
    "/etc/cron.d/evil.jpg": jpeg_bytes(),
}


def test_hostile_images_are_refused_or_stored_safely_and_scan_without_crashing(api, demo_bundle):
    from anticounterfeit.detection.scanning import scan_listings
    from tests.integration.procs import indexed_catalog

    outside = "/tmp/ac-h7-traversal.jpg"
    if os.path.exists(outside):
        os.remove(outside)
    accepted, refused = [], {}
    for n, (name, data) in enumerate(HOSTILE.items()):
        payload = {"listing_id": f"img-{n}", "seller_id": "s-img", "title": "Bag",
                   "images": [{"filename": name, "content_base64": base64.b64encode(data).decode()}]}
        response = api.post("/api/v1/listings", payload, format="json")
        assert_clean(response)
        if response.status_code == 201:
            accepted.append(name)
        else:
            refused[name] = str(response.json())
            assert "images" in response.json()
    for name in ("bomb.png", "header-bomb.png", "truncated.jpg", "random.jpg", "empty.jpg", "svg.jpg"):
        assert name in refused, f"{name} should have been refused"
        assert name in refused[name], f"the error names the image: {refused[name]}"
    assert {"cmyk.jpg", "sixteen-bit.png", "animated.gif", "rotated.jpg", "rgba.png"} <= set(accepted)

    media = os.path.realpath(django_settings.MEDIA_ROOT)
    for image in ListingImage.objects.all():
        path = os.path.realpath(image.image.path)
        assert path.startswith(media + os.sep), path
        assert ".." not in image.image.name
    assert not os.path.exists(outside)

    indexed_catalog(demo_bundle)
    pending = list(Listing.objects.filter(status=Listing.Status.PENDING).values_list("pk", flat=True))
    assert scan_listings(pending) == len(pending) == len(accepted)
    assert not Listing.objects.filter(status=Listing.Status.PENDING).exists()

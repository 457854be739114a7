"""Set up domain state through the real actions (no raw ORM shortcuts for state changes)."""
import io

import numpy as np
from django.test import Client
from PIL import Image, ImageDraw
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.models import Brand, ReferenceImage, ReferenceItem
from anticounterfeit.detection.actions import ScanBatchContext, record_detection
from anticounterfeit.detection.models import BankVersion
from anticounterfeit.detection.scanning import listings_for_scan
from anticounterfeit.notifications.actions import send_webhooks
from ml.types import Match, ScanResult


def jpeg_bytes(color=(200, 30, 30), size=(96, 96), text: str = "") -> bytes:
    image = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(image).text((8, 8), text, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_brand(key="acme", name="Acme") -> Brand:
    brand, _ = Brand.objects.get_or_create(brand_key=key, defaults={"name": name, "aliases": [], "protected_terms": []})
    return brand


def make_reference(brand: Brand, key="ref-1", msrp=120) -> ReferenceItem:
    from django.core.files.base import ContentFile

    ref = ReferenceItem.objects.create(ref_key=key, brand=brand, title=f"{brand.name} runner", msrp=msrp)
    image = ReferenceImage(reference=ref, position=0, sha256=key)
    image.image.save(f"{key}.jpg", ContentFile(jpeg_bytes((30, 30, 200))), save=True)
    return ref


def scanned_listing(listing_id: str, seller_id: str, *, score: float, brand: Brand | None = None,
                    ref: ReferenceItem | None = None, price=25, title=None, description: str = "",
                    image_color=None, pdq: str | None = None, signals: dict | None = None,
                    batch_context: bool = False, images: list[bytes] | None = None,
                    matches: list[Match] | None = None, explanation: list[str] | None = None, client=None):
    """Accept a listing and record a detection for it, as a worker would.

    ``image_color``/``pdq`` make a listing's image distinct (by default all listings share one image);
    ``batch_context`` records it the way a scan batch does (with a ``ScanBatchContext``); ``images`` (encoded
    files), ``matches`` and ``explanation`` replace the defaults; ``client``: the marketplace (tenant) that sent
    it (None: the default tenant).
    """
    images = images or [jpeg_bytes(image_color or (200, 30, 30))]
    listing = accept_validated({
        "listing_id": listing_id, "seller_id": seller_id, "title": title or f"Listing {listing_id}", "description": description,
        "price": price, "currency": "USD", "images": [{"filename": f"{n}.jpg", "data": data} for n, data in enumerate(images)],
    }, client=client)
    return record_scan(listing, score=score, brand=brand, ref=ref, pdq=pdq, signals=signals,
                       batch_context=batch_context, matches=matches, explanation=explanation, images=len(images))


def record_scan(listing, *, score: float, brand: Brand | None = None, ref: ReferenceItem | None = None,
                pdq: str | None = None, signals: dict | None = None, batch_context: bool = False,
                catalog_copy: bool = False, matches: list[Match] | None = None,
                explanation: list[str] | None = None, images: int = 1):
    """Record a scan result for an accepted listing, as a worker would (a case opens above the threshold).
    ``catalog_copy``: the image is a copy of the reference's own photo (a PDQ match to it)."""
    listing_id = listing.listing_key
    BankVersion.objects.get_or_create(number=1, defaults={"path": "/nonexistent", "counts": {}})
    if matches is None:
        matches = [Match(kind="image", ref_id=ref.ref_key, brand_id=brand.brand_key, score=0.93, listing_image=0,
                         ref_image=0)] if ref and brand else []
    if catalog_copy and ref and brand:
        matches.append(Match(kind="pdq", ref_id=ref.ref_key, brand_id=brand.brand_key, score=1.0, listing_image=0,
                             ref_image=0))
    result = ScanResult(
        listing_id=listing_id, score=score, brand_id=brand.brand_key if brand else None,
        signals=signals if signals is not None else {"image_sim": 0.93},
        explanation=explanation or [f"image matched {brand.name if brand else '-'} reference (0.93)"],
        matches=matches, image_vectors=np.ones((images, 8), dtype=np.float32),
        pdq_hashes=[pdq if pdq is not None else "ab" * 32] * images, model_version="test",
    )
    context = ScanBatchContext.of(listings_for_scan([listing.pk])) if batch_context else None
    record_detection(listing.pk, result, bank_version=1, context=context)
    listing.refresh_from_db()
    return listing


def market(make_user, name: str, url: str = "") -> MarketplaceClient:
    """A marketplace API client (its user made by the ``make_user`` fixture) with a webhook URL."""
    return MarketplaceClient.objects.create(name=f"Market {name}", user=make_user(name, Role.API_CLIENT), webhook_url=url)


def removal_for(client: MarketplaceClient, listing_id: str = "L-1"):
    """The ``listing.removed`` webhook delivery for a new listing of ``client``."""
    listing = scanned_listing(listing_id, "S-1", score=0.9)
    type(listing).objects.filter(pk=listing.pk).update(client=client)
    listing.refresh_from_db()
    return send_webhooks("listing.removed", listing=listing, seller=listing.seller)[0]


def logged_in(user=None, **kwargs) -> Client:
    """A Django test client, logged in as ``user`` when one is given (``kwargs`` go to ``Client``)."""
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def token_client(user) -> APIClient:
    """An API client that authenticates as ``user`` with a new token."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def market_api(make_user, username: str, name: str) -> APIClient:
    """A marketplace client called ``name`` with its API user ``username``, and an API client authenticated as it."""
    user = make_user(username, Role.API_CLIENT)
    MarketplaceClient.objects.create(name=name, user=user)
    return token_client(user)

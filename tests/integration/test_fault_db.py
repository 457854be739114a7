"""PostgreSQL drops the request's connection mid-transaction: the API answers 503 and nothing is half-written.

The connection is really terminated by the server (``pg_terminate_backend``) at the moment the listing row
and its image row exist inside the open transaction; a test-only signal receiver picks that moment.
"""
import base64
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.db.models.signals import post_save

from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.maintenance import remove_orphan_listing_files
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from tests.factories import jpeg_bytes, market_api

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def kill_own_connection(**kwargs) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_connection_dropped_mid_request_leaves_no_partial_state(make_user):
    earlier = listing_files()  # files of earlier tests in this session share MEDIA_ROOT
    api = market_api(make_user, "market", "Market A")
    payload = {"listing_id": "dropped", "seller_id": "s-new", "title": "Canvas tote",
               "images": [{"filename": "a.jpg", "content_base64": base64.b64encode(jpeg_bytes()).decode()}]}
    audit_rows = AuditEvent.objects.count()

    post_save.connect(kill_own_connection, sender=ListingImage, dispatch_uid="kill-db")
    try:
        response = api.post("/api/v1/listings", payload, format="json")
    finally:
        post_save.disconnect(dispatch_uid="kill-db", sender=ListingImage)
    connection.close()

    assert response.status_code == 503, response.content
    assert response["Retry-After"]
    assert "retry" in response.json()["detail"]
    assert not Listing.objects.filter(listing_key="dropped").exists()
    assert not ListingImage.objects.exists()
    assert AuditEvent.objects.count() == audit_rows
    # The image file was written before the transaction died; the maintenance sweep removes it (and only it).
    orphans = listing_files() - earlier
    assert len(orphans) == 1

    # A retry after the outage goes through and is accepted exactly once.
    again = api.post("/api/v1/listings", payload, format="json")
    assert again.status_code == 201, again.content
    assert Listing.objects.filter(listing_key="dropped").count() == 1
    assert Seller.objects.filter(seller_key="s-new").count() == 1
    kept = {os.path.realpath(ListingImage.objects.get().image.path)}
    remove_orphan_listing_files(older_than=timedelta(hours=1))
    assert orphans <= listing_files(), "recent files are left alone (their request may still be running)"
    assert remove_orphan_listing_files(older_than=timedelta(0)) >= 1
    assert not orphans & listing_files() and kept <= listing_files()


def listing_files() -> set[str]:
    root = os.path.join(settings.MEDIA_ROOT, "listings")
    return {os.path.realpath(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files}

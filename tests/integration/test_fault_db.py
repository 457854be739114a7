"""PostgreSQL drops the request's connection mid-transaction: the API answers 503 and nothing is half-written.

The connection is really terminated by the server (``pg_terminate_backend``) at the moment the listing row
and its image row exist inside the open transaction; a test-only signal receiver picks that moment.
"""
import base64

import pytest
from django.db import connection
from django.db.models.signals import post_save
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from tests.factories import jpeg_bytes

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def kill_own_connection(**kwargs) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_connection_dropped_mid_request_leaves_no_partial_state(make_user):
    user = make_user("market", Role.API_CLIENT)
    MarketplaceClient.objects.create(name="Market A", user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
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
    # The seller row was created before the listing's transaction: it may exist, but never a half listing.
    # A retry after the outage goes through and is accepted exactly once.
    again = api.post("/api/v1/listings", payload, format="json")
    assert again.status_code == 201, again.content
    assert Listing.objects.filter(listing_key="dropped").count() == 1
    assert Seller.objects.filter(seller_key="s-new").count() == 1

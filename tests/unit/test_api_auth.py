"""The listing API answers a request without a token before it reads anything."""
from rest_framework.test import APIClient


def test_api_requires_a_token():
    assert APIClient().post("/api/v1/listings", {}, format="json").status_code in (401, 403)

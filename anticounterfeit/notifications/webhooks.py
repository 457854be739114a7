"""Marketplace webhooks: how a delivery is signed, and how a receiver checks it.

The receiver recomputes ``sha256=HMAC(secret, timestamp + "." + body)`` and compares it with the
``X-AC-Signature`` header (and rejects stale timestamps). Each client has its own secret, derived from
``NOTIFY["WEBHOOK_SIGNING_KEY"]`` and the client's secret version so it need not be stored; the client's API
user or a lead reads it (audited) on the client's webhook page, and can rotate it there.
"""
import hashlib
import hmac
import json

from django.conf import settings

SIGNATURE_HEADER = "X-AC-Signature"
TIMESTAMP_HEADER = "X-AC-Timestamp"
EVENT_HEADER = "X-AC-Event"
DELIVERY_HEADER = "X-AC-Delivery"


def signing_secret(client) -> str:
    """Rotating bumps ``client.secret_version``; version 0 keeps the secret clients had before rotation existed."""
    key = settings.NOTIFY["WEBHOOK_SIGNING_KEY"].encode()
    label = f"webhook-client:{client.pk}" + (f":v{client.secret_version}" if client.secret_version else "")
    return hmac.new(key, label.encode(), hashlib.sha256).hexdigest()


def masked(secret: str) -> str:
    return f"{secret[:4]}{'•' * 12}{secret[-4:]}"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def headers_for(delivery, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(signing_secret(delivery.client), timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
    }

"""Marketplace webhooks: how a delivery is signed, and how a receiver checks it.

The receiver recomputes ``sha256=HMAC(secret, timestamp + "." + body)`` and compares it with the
``X-AC-Signature`` header (and rejects stale timestamps). Each client has its own secret, derived from
``NOTIFY["WEBHOOK_SIGNING_KEY"]`` and the client's secret version so it need not be stored; the client's API
user or a lead reads it (audited) on the client's webhook page, and can rotate it there.

After a rotation the receiver may still hold the previous secret: for ``NOTIFY["WEBHOOK_SECRET_GRACE_HOURS"]``
(24 h) each delivery also carries the previous secret's signature in ``X-AC-Signature-Previous``, so a receiver that
checks both headers keeps accepting deliveries until it switches. Rotating again ends the older secret's grace.
"""
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

SIGNATURE_HEADER = "X-AC-Signature"
PREVIOUS_SIGNATURE_HEADER = "X-AC-Signature-Previous"
TIMESTAMP_HEADER = "X-AC-Timestamp"
EVENT_HEADER = "X-AC-Event"
DELIVERY_HEADER = "X-AC-Delivery"
# The same key on every attempt of one delivery: a receiver that saw it already answers 2xx and does nothing.
IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(delivery) -> str:
    return f"ac-webhook-{delivery.pk}"


def _derived_secret(client_pk: int, version: int) -> str:
    key = settings.NOTIFY["WEBHOOK_SIGNING_KEY"].encode()
    label = f"webhook-client:{client_pk}" + (f":v{version}" if version else "")
    return hmac.new(key, label.encode(), hashlib.sha256).hexdigest()


def signing_secret(client) -> str:
    """Rotating bumps ``client.secret_version``; version 0 keeps the secret clients had before rotation existed."""
    return _derived_secret(client.pk, client.secret_version)


def grace_ends_at(client) -> datetime | None:
    """When the previous secret stops being sent alongside (None: no rotation yet)."""
    if not client.secret_version or client.secret_rotated_at is None:
        return None
    return client.secret_rotated_at + timedelta(hours=settings.NOTIFY["WEBHOOK_SECRET_GRACE_HOURS"])


def previous_secret(client, *, now: datetime | None = None) -> str | None:
    """The secret before the last rotation while its grace period lasts, else None."""
    ends = grace_ends_at(client)
    if ends is None or (now or timezone.now()) >= ends:
        return None
    return _derived_secret(client.pk, client.secret_version - 1)


def masked(secret: str) -> str:
    return f"{secret[:4]}{'•' * 12}{secret[-4:]}"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def verify_headers(secret: str, body: bytes, headers) -> bool:
    """What a receiver does: accept when the current or (during a grace period) the previous signature matches."""
    timestamp = int(headers[TIMESTAMP_HEADER])
    return any(verify(secret, timestamp, body, headers[name])
               for name in (SIGNATURE_HEADER, PREVIOUS_SIGNATURE_HEADER) if headers.get(name))


def headers_for(delivery, body: bytes, timestamp: int) -> dict[str, str]:
    client = delivery.client
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(signing_secret(client), timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        IDEMPOTENCY_HEADER: idempotency_key(delivery),
    }
    previous = previous_secret(client, now=datetime.fromtimestamp(timestamp, tz=UTC))
    if previous:
        headers[PREVIOUS_SIGNATURE_HEADER] = sign(previous, timestamp, body)
    return headers

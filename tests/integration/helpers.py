"""Helpers for integration tests: read a bundle's listings as API payloads; check that each was scanned once."""
import base64
import json
from pathlib import Path

from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.models import Detection
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import Case


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def api_payload(bundle: Path, record: dict, **overrides) -> dict:
    images = [{"filename": Path(p).name, "content_base64": base64.b64encode((bundle / p).read_bytes()).decode()}
              for p in record["images"]]
    payload = {k: v for k, v in record.items() if k != "images"}
    payload["images"] = images
    payload.update(overrides)
    return payload


def labels_by_id(bundle: Path) -> dict[str, dict]:
    return {row["listing_id"]: row for row in read_jsonl(bundle / "labels.jsonl")}


def assert_scanned_exactly_once(listing_keys: list[str]) -> None:
    listings = {item.listing_key: item for item in Listing.objects.filter(listing_key__in=listing_keys)}
    assert sorted(listings) == sorted(listing_keys), "an accepted listing was lost"
    for key, listing in listings.items():
        assert listing.status != Listing.Status.PENDING, f"{key} never scanned"
        assert Detection.objects.filter(listing=listing).count() == 1, f"{key} recorded twice"
        assert Case.objects.filter(listing=listing).count() == int(listing.status == Listing.Status.IN_REVIEW), key
        transitions = AuditEvent.objects.filter(action="listing.status", object_id=str(listing.pk))
        assert transitions.count() == 1, f"{key}: {list(transitions.values_list('after', flat=True))}"

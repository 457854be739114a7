"""Helpers for integration tests: read a bundle's listings as API payloads."""
import base64
import json
from pathlib import Path


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

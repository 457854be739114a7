"""A bank built with other models (e.g. before a PDQ change) is visible, keeps serving, and heals itself.

Real worker, PostgreSQL and Redis: the stale bank is a real bank whose index says it was built by older models.
"""
import json
import shutil
from pathlib import Path

import pytest

from anticounterfeit.api.intake import accept_validated
from anticounterfeit.detection import detector_cache as runtime
from anticounterfeit.detection.bank_builds import build_bank
from anticounterfeit.detection.models import BankVersion
from anticounterfeit.listings.models import Listing
from tests.factories import jpeg_bytes, make_brand, make_reference
from tests.support import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
OLD = "effl0-minilm-00000000"


def stale_copy(version: BankVersion) -> BankVersion:
    """The same bank, as a restore from before the model change would bring it back."""
    path = Path(version.path).with_name(f"v{version.number + 1:06d}")
    shutil.copytree(version.path, path)
    doc = json.loads((path / "index.json").read_text())
    (path / "index.json").write_text(json.dumps({**doc, "model_version": OLD}))
    return BankVersion.objects.create(number=version.number + 1, path=str(path), counts=version.counts,
                                      reason="restored from backup")


def test_stale_bank_is_reported_used_meanwhile_and_rebuilt_once(celery_worker_real, client, caplog):
    brand = make_brand()
    make_reference(brand)
    fresh = BankVersion.objects.get(number=build_bank("test catalog"))
    expected = runtime.expected_model_version()
    assert runtime.index_model_version(fresh.path) == expected
    assert client.get("/health").json()["bank"] == f"ok (v{fresh.number})"

    stale = stale_copy(fresh)
    health = client.get("/health")
    assert health.status_code == 200, "a stale bank is degraded, not down"
    line = health.json()["bank"]
    assert line.startswith(f"stale: bank v{stale.number} was built with models {OLD}, workers run {expected}")
    assert "rebuild not queued yet" in line

    # The worker scans with the stale bank (availability), and that first load queues exactly one rebuild.
    listing = accept_validated({"listing_id": "during-rebuild", "seller_id": "s-1", "title": "Blue runner",
                                "description": "", "price": 30, "currency": "USD",
                                "images": [{"filename": "a.jpg", "data": jpeg_bytes((30, 30, 200))}]})
    scanned = wait_for(lambda: Listing.objects.exclude(status=Listing.Status.PENDING).filter(pk=listing.pk).first(),
                       timeout=180, message="listing scanned while the bank is stale")
    assert scanned.detections.exists()
    assert any(r.levelname == "WARNING" and f"bank v{stale.number} was built with models {OLD}" in r.getMessage()
               for r in caplog.records), "the mismatch is logged"
    rebuilt = wait_for(lambda: BankVersion.objects.filter(number__gt=stale.number).first(), timeout=240,
                       message="the worker rebuilt the bank with the current models")
    assert rebuilt.reason.startswith(f"model version changed: bank v{stale.number} built with {OLD}")
    assert runtime.index_model_version(rebuilt.path) == expected
    assert client.get("/health").json()["bank"] == f"ok (v{rebuilt.number})"

    # Once: the lock is held for the stale bank, so no other worker or scan queues a second rebuild.
    assert runtime.rebuild_requested(stale, expected)
    assert runtime.request_bank_rebuild(stale, OLD, expected) is True  # already queued: nothing new is sent
    detector, number = runtime.get_detector()
    assert number == rebuilt.number and detector.index.model_version == expected
    wait_for(lambda: Listing.objects.filter(pk=listing.pk).exclude(status=Listing.Status.PENDING).exists(),
             message="listing still scanned")
    assert BankVersion.objects.filter(reason__startswith="model version changed").count() == 1

"""A bank build that crashes half-way through writing leaves the previous bank version in service."""
import os

import pytest

from anticounterfeit.api.intake import accept_validated
from anticounterfeit.detection import detector_cache as runtime
from anticounterfeit.detection.bank_builds import build_bank
from anticounterfeit.detection.models import BankVersion
from anticounterfeit.detection.scanning import scan_listings
from ml import banks as ml_banks
from tests.factories import jpeg_bytes

from .procs import indexed_catalog

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_crash_mid_write_keeps_previous_bank_usable(demo_bundle, monkeypatch):
    first = indexed_catalog(demo_bundle)
    v1 = BankVersion.objects.get(number=first)
    v1_files = sorted(os.listdir(v1.path))
    real_save = ml_banks.PdqBank.save

    def disk_full(self, directory, name):
        real_save(self, directory, name)
        with open(os.path.join(directory, "partial.bin"), "wb") as f:
            f.write(b"\0" * 1024)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ml_banks.PdqBank, "save", disk_full)
    with pytest.raises(OSError):
        build_bank("crashing rebuild")
    monkeypatch.undo()

    assert list(BankVersion.objects.values_list("number", flat=True)) == [first], "a failed build was published"
    parent = os.path.dirname(v1.path)
    assert sorted(os.listdir(parent)) == [os.path.basename(v1.path)], f"leftovers: {os.listdir(parent)}"
    assert sorted(os.listdir(v1.path)) == v1_files

    # The worker still loads and scans with v1.
    runtime._state.update(version=None, detector=None)
    detector, version = runtime.get_detector()
    assert version == first and detector is not None
    listing = accept_validated({"listing_id": "after-crash", "seller_id": "s1", "title": "Leather bag",
                                "images": [{"filename": "a.jpg", "data": jpeg_bytes()}]})
    assert scan_listings([listing.pk]) == 1
    listing.refresh_from_db()
    assert listing.status != listing.Status.PENDING
    assert listing.detections.get().bank_version == first

    # Once the fault is gone the next build publishes v2 as usual.
    assert build_bank("retry") == first + 1

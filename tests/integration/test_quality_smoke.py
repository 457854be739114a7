"""Quality smoke test on ../shared/fakebench through the real product path:
import_catalog → ingest_listings → real worker scans → export_predictions → the benchmark's scorer.

Floor: PR-AUC ≥ 0.85 through the whole product path (the ml CLI's own regression test holds the
issue's full targets); measured figures are printed.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from anticounterfeit.catalog.models import ImportJob
from anticounterfeit.detection.models import BankVersion
from anticounterfeit.listings.models import Listing
from tests.support import FAKEBENCH, wait_for

pytestmark = [pytest.mark.services, pytest.mark.bench, pytest.mark.django_db(transaction=True)]
PR_AUC_FLOOR = 0.85
EVERY = int(os.environ.get("AC_SMOKE_EVERY", "2"))  # CI scans every 2nd listing; set 1 for the whole split


def listing_subset(out: Path) -> Path:
    """Every EVERY-th listing (with its images and labels) copied to ``out``: a bundle of the same shape."""
    keep = [line for n, line in enumerate((FAKEBENCH / "listings.jsonl").read_text().splitlines()) if n % EVERY == 0]
    ids = {json.loads(line)["listing_id"] for line in keep}
    for line in keep:
        for rel in json.loads(line)["images"]:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FAKEBENCH / rel, out / rel)
    (out / "listings.jsonl").write_text("\n".join(keep) + "\n")
    labels = [line for line in (FAKEBENCH / "labels.jsonl").read_text().splitlines()
              if line.strip() and json.loads(line)["listing_id"] in ids]
    (out / "labels.jsonl").write_text("\n".join(labels) + "\n")
    return out


@pytest.mark.skipif(not (FAKEBENCH / "labels.jsonl").exists(), reason="../shared/fakebench is not present")
def test_fakebench_through_the_product(celery_worker_real, tmp_path):
    call_command("import_catalog", str(FAKEBENCH))
    wait_for(lambda: ImportJob.objects.filter(status=ImportJob.Status.DONE).exists(), timeout=600,
             message="catalog indexed")
    assert BankVersion.objects.exists()
    subset = listing_subset(tmp_path / "subset")
    call_command("ingest_listings", str(subset / "listings.jsonl"))
    total = sum(1 for line in (subset / "listings.jsonl").read_text().splitlines() if line.strip())
    assert Listing.objects.count() == total
    wait_for(lambda: not Listing.objects.filter(status=Listing.Status.PENDING).exists(), timeout=1500, interval=2,
             message="all fakebench listings scanned")
    pred = tmp_path / "pred.jsonl"
    metrics = tmp_path / "metrics.json"
    call_command("export_predictions", out=str(pred))
    score_py = FAKEBENCH / "score.py"
    out = subprocess.run([sys.executable, str(score_py), "--data", str(subset), "--pred", str(pred),
                          "--json", str(metrics)], capture_output=True, text=True, check=True)
    print(out.stdout)
    result = json.loads(metrics.read_text())
    assert result["n_missing"] == 0
    assert result["pr_auc"] >= PR_AUC_FLOOR, out.stdout

"""``python -m ml.cli.bench`` runs end to end on a few fakebench listings and ends with the issue's summary line."""
import os
import re

import pytest

from ml.cli import bench
from tests.support import FAKEBENCH

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(not (FAKEBENCH / "labels.jsonl").exists(), reason="../shared/fakebench (dev split) is absent"),
]


def test_scan_bench_prints_ratios_against_plain_eager(capsys, tmp_path):
    # --engine-cache: the run's exports and embedding cache, not the user's
    assert bench.main(["--bundle", str(FAKEBENCH), "--listings", "16", "--rounds", "2",
                       "--engine-cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "plain eager fp32 forward" in out and "OCR follow-ups" in out
    if (os.cpu_count() or 1) > 1:  # default: one lane per core, each a spawned scan process like a worker's
        assert "each a process like a worker's pool process" in out
    assert re.search(r"raw \S+ is \d+\.\d\dx plain eager", out)  # the ceiling of speedup_vs_eager here
    cos = re.search(r"cosine vs plain fp32: image min ([\d.]+) mean [\d.]+\s+text min ([\d.]+)", out)
    assert cos and float(cos[1]) >= 0.995 and float(cos[2]) >= 0.995  # the bar every engine keeps (mixed: ~0.999)
    last = out.strip().splitlines()[-1]
    assert re.search(r"pipeline_vs_raw per round: \d+\.\d\d \d+\.\d\d; median \d+\.\d\d, spread", out)
    assert re.fullmatch(r"pipeline_vs_raw=\d+\.\d\d pipeline_vs_raw_min=\d+\.\d\d pipeline_vs_raw_max=\d+\.\d\d "
                        r"speedup_vs_eager=\d+\.\d\d listings_per_s=\d+\.\d "
                        r"all_told_per_s=\d+\.\d followup_ms_per_listing=\d+\.\d", last), last

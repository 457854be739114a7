"""Turn a bundle into per-listing signals (features, brands, evidence) with the same code the workers run."""
from __future__ import annotations

import sys
import time

from ml.bundle import Bundle
from ml.detector import Detector, ListingSignals
from ml.index import ReferenceIndex
from ml.models import LoadedModels


def build_index(bundle: Bundle, models: LoadedModels, cache_dir: str | None) -> ReferenceIndex:
    return ReferenceIndex.build(bundle.brands, bundle.references, models, cache_dir=cache_dir)


def extract_all(detector: Detector, bundle: Bundle, batch: int = 16,
                progress: bool = True) -> tuple[list[ListingSignals], float]:
    """Run feature extraction over all listings in batches, with a progress bar; returns (signals, seconds)."""
    out: list[ListingSignals] = []
    t0 = time.perf_counter()
    n = len(bundle.listings)
    for start in range(0, n, batch):
        out += detector.extract(bundle.listings[start:start + batch])
        if progress:
            done = min(n, start + batch)
            el = time.perf_counter() - t0
            bar = "#" * int(30 * done / n)
            sys.stderr.write(f"\r[{bar:<30}] {done}/{n}  {done / el:.1f} listings/s")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    return out, time.perf_counter() - t0

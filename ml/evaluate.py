"""Evaluate the detector on a bundle without any database.

    python -m ml.evaluate --data DIR --out PRED.jsonl [--labels] [--cache-dir DIR] [--scorer PATH]

Writes {"listing_id","score","brand_id"} per line. With --labels prints the benchmark metrics for
the detector and for two baselines computed in the same run: PDQ-only matching and global-embedding
kNN only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ml.config import DetectorConfig

PDQ_MATCH_BITS = DetectorConfig().pdq_max_distance


def baselines(evidence) -> tuple[dict[str, tuple[float, str | None]], dict[str, tuple[float, str | None]]]:
    """Per listing: PDQ-only (1 - min distance/256) and global kNN (max cosine), each with its brand."""
    pdq, knn = {}, {}
    for lid, e in evidence:
        if e.pdq:
            b, v = min(e.pdq.items(), key=lambda kv: kv[1][0])
            pdq[lid] = (max(0.0, 1.0 - v[0] / (2.0 * PDQ_MATCH_BITS)), b)  # 0.5 at the match threshold
        else:
            pdq[lid] = (0.0, None)
        allimg = {**{b: v[0] for b, v in e.logo.items()}}
        for b, v in e.img.items():
            allimg[b] = max(allimg.get(b, 0.0), v[0])
        if allimg:
            b, v = max(allimg.items(), key=lambda kv: kv[1])
            knn[lid] = (v, b)
        else:
            knn[lid] = (0.0, None)
    return pdq, knn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--labels", action="store_true", help="score against labels.jsonl and print metrics")
    ap.add_argument("--cache-dir", default=None, help="reference-embedding cache (default: none)")
    ap.add_argument("--scorer", default=None, help="scorer JSON (default: the shipped one)")
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args(argv)

    from ml.bundle import read_bundle
    from ml.detector import Detector
    from ml.index import ReferenceIndex
    from ml.metrics import format_report, report
    from ml.models import load_models
    from ml.scorer import Scorer

    bundle = read_bundle(args.data)
    for err in bundle.errors[:20]:
        print(f"bundle: {err}", file=sys.stderr)
    models = load_models()
    t0 = time.perf_counter()
    index = ReferenceIndex.build(bundle.brands, bundle.references, models, cache_dir=args.cache_dir)
    print(f"index built in {time.perf_counter() - t0:.1f}s: {index.counts}", file=sys.stderr)
    scorer = Scorer.load(args.scorer) if args.scorer else Scorer.load_default()
    det = Detector(models, index, scorer)

    preds, evidence, n = [], [], len(bundle.listings)
    t0 = time.perf_counter()
    for start in range(0, n, args.batch):
        batch = bundle.listings[start:start + args.batch]
        dets, raw = det.scan_detailed(batch)
        preds.extend(dets)
        evidence.extend(zip([x.listing_id for x in batch], raw["evidence"], strict=True))
        done, el = start + len(batch), time.perf_counter() - t0
        sys.stderr.write(f"\r[{'#' * int(30 * done / n):<30}] {done}/{n}  {done / el:.1f} listings/s")
        sys.stderr.flush()
    elapsed = time.perf_counter() - t0
    sys.stderr.write("\n")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for d in preds:
            f.write(json.dumps({"listing_id": d.listing_id, "score": round(d.score, 6), "brand_id": d.brand_id}) + "\n")
    print(f"scanned {n} listings in {elapsed:.1f}s: {n / max(elapsed, 1e-9):.2f} listings/s "
          f"(scorer {scorer.version}, model {models.version})")
    if args.labels:
        labels = [lab for lab in bundle.labels.values()]
        main_r = report(labels, {d.listing_id: d.score for d in preds}, {d.listing_id: d.brand_id for d in preds})
        pdq, knn = baselines(evidence)
        rs = {"detector": main_r,
              "baseline PDQ-only": report(labels, {k: v[0] for k, v in pdq.items()}, {k: v[1] for k, v in pdq.items()}),
              "baseline global-kNN": report(labels, {k: v[0] for k, v in knn.items()}, {k: v[1] for k, v in knn.items()})}
        for name, r in rs.items():
            print(format_report(name, r))
        for name in ("baseline PDQ-only", "baseline global-kNN"):
            b = rs[name]
            rec = (f"x{main_r['recall_at_p95'] / b['recall_at_p95']:.2f}" if b["recall_at_p95"] > 0
                   else f"{main_r['recall_at_p95']:.3f} vs 0")
            print(f"detector vs {name}: PR-AUC x{main_r['pr_auc'] / max(b['pr_auc'], 1e-9):.2f}, recall@P0.95 {rec}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

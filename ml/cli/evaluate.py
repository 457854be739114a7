"""Evaluate the detector on a bundle without any database.

    python -m ml.cli.evaluate --data DIR --out PRED.jsonl [--labels [--cv K]] [--cache-dir DIR] [--scorer PATH]

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

from ml.cli.options import add_model_options, models_config
from ml.config import DetectorConfig, ModelsConfig

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


def evaluate(data: str, *, out: str | None = None, with_labels: bool = False, cache_dir: str | None = None,
             scorer_path: str | None = None, batch: int = 16, cv_folds: int = 0, C: float = 0.3,
             models_config: ModelsConfig | None = None) -> dict:
    """Scan a bundle with the workers' code; return predictions, throughput and (with labels) reports.

    ``cv_folds`` > 1 replaces each score by one from a scorer trained on the other brands' listings
    (folds grouped by brand), so the figures are never measured on the listings a model saw.
    """
    from ml.bundle import read_bundle
    from ml.crossval import brand_groups, grouped_cv
    from ml.detector import Detector
    from ml.index import ReferenceIndex
    from ml.metrics import format_report, report
    from ml.models import load_models
    from ml.scorer import Scorer

    bundle = read_bundle(data)
    for err in bundle.errors[:20]:
        print(f"bundle: {err}", file=sys.stderr)
    models = load_models(models_config)
    t0 = time.perf_counter()
    index = ReferenceIndex.build(bundle.brands, bundle.references, models, cache_dir=cache_dir)
    print(f"index built in {time.perf_counter() - t0:.1f}s: {index.counts}", file=sys.stderr)
    scorer = Scorer.load(scorer_path) if scorer_path else Scorer.load_default()
    det = Detector(models, index, scorer)

    preds, evidence, features, n = [], [], [], len(bundle.listings)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        chunk = bundle.listings[start:start + batch]
        dets, raw = det.scan_detailed(chunk)
        preds.extend(dets)
        features.extend(r.features for r in raw)
        evidence.extend((x.listing_id, r.evidence) for x, r in zip(chunk, raw, strict=True))
        done, el = start + len(chunk), time.perf_counter() - t0
        sys.stderr.write(f"\r[{'#' * int(30 * done / n):<30}] {done}/{n}  {done / el:.1f} listings/s")
        sys.stderr.flush()
    elapsed = time.perf_counter() - t0
    sys.stderr.write("\n")
    scores = {d.listing_id: d.score for d in preds}
    brands = {d.listing_id: d.brand_id for d in preds}
    result: dict = {"n": n, "seconds": elapsed, "listings_per_s": n / max(elapsed, 1e-9),
                    "scorer": scorer.version, "model": models.version, "reports": {}}
    print(f"scanned {n} listings in {elapsed:.1f}s: {result['listings_per_s']:.2f} listings/s "
          f"(scorer {scorer.version}, model {models.version})")
    if cv_folds > 1:
        labels = [bundle.labels[d.listing_id] for d in preds]
        y = [int(lab["counterfeit"]) for lab in labels]
        p = grouped_cv(features, y, brand_groups("", labels, [d.brand_id for d in preds]), C, cv_folds)
        scores = dict(zip((d.listing_id for d in preds), p.tolist(), strict=True))
        result["scorer"] = f"{cv_folds}-fold brand-grouped CV (C={C})"
        print(f"scores replaced by {result['scorer']}")
    result["scores"], result["brands"] = scores, brands
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            for d in preds:
                f.write(json.dumps({"listing_id": d.listing_id, "score": round(scores[d.listing_id], 6),
                                    "brand_id": d.brand_id}) + "\n")
    if with_labels:
        labels = list(bundle.labels.values())
        main_r = report(labels, scores, brands)
        pdq, knn = baselines(evidence)
        rs = {"detector": main_r,
              "baseline PDQ-only": report(labels, {k: v[0] for k, v in pdq.items()}, {k: v[1] for k, v in pdq.items()}),
              "baseline global-kNN": report(labels, {k: v[0] for k, v in knn.items()}, {k: v[1] for k, v in knn.items()})}
        result["reports"] = rs
        for name, r in rs.items():
            print(format_report(name, r))
        for name in ("baseline PDQ-only", "baseline global-kNN"):
            b = rs[name]
            rec = (f"x{main_r['recall_at_p95'] / b['recall_at_p95']:.2f}" if b["recall_at_p95"] > 0
                   else f"{main_r['recall_at_p95']:.3f} vs 0")
            print(f"detector vs {name}: PR-AUC x{main_r['pr_auc'] / max(b['pr_auc'], 1e-9):.2f}, recall@P0.95 {rec}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--labels", action="store_true", help="score against labels.jsonl and print metrics")
    ap.add_argument("--cache-dir", default=None, help="reference-embedding cache (default: none)")
    ap.add_argument("--scorer", default=None, help="scorer JSON (default: the shipped one)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--cv", type=int, default=0, metavar="K",
                    help="score with K-fold brand-grouped CV on this bundle's labels instead of a fixed scorer")
    add_model_options(ap)
    args = ap.parse_args(argv)
    if args.cv and not args.labels:
        ap.error("--cv needs --labels")
    evaluate(args.data, out=args.out, with_labels=args.labels, cache_dir=args.cache_dir, scorer_path=args.scorer,
             batch=args.batch, cv_folds=args.cv, models_config=models_config(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

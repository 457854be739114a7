"""Benchmark metrics (same definitions as fakebench's score.py), numpy only."""
from __future__ import annotations

from collections import defaultdict

import numpy as np


def _pr_curve(y: np.ndarray, s: np.ndarray):
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    tp, fp = np.cumsum(ys), np.cumsum(~ys)
    last = np.r_[np.nonzero(np.diff(ss))[0], len(ss) - 1]
    tp, fp = tp[last], fp[last]
    return tp / np.maximum(tp + fp, 1), tp / max(1, int(y.sum())), ss[last]


def average_precision(y, s) -> float:
    y, s = np.asarray(y, bool), np.asarray(s, np.float64)
    prec, rec, _ = _pr_curve(y, s)
    return float(np.sum((rec - np.r_[0.0, rec[:-1]]) * prec))


def recall_at_precision(y, s, p_min: float) -> float:
    prec, rec, _ = _pr_curve(np.asarray(y, bool), np.asarray(s, np.float64))
    ok = prec >= p_min
    return float(rec[ok].max()) if ok.any() else 0.0


def report(labels: list[dict], scores: dict[str, float], brands: dict[str, str | None],
           threshold: float = 0.5) -> dict:
    """PR-AUC, recall@P0.95, FPR on genuine, brand accuracy on fakes, per-category recall/FPR."""
    y = np.array([bool(lab["counterfeit"]) for lab in labels])
    s = np.array([scores.get(lab["listing_id"], 0.0) for lab in labels])
    flag = s >= threshold
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for lab, fl in zip(labels, flag, strict=True):
        per[lab["category"]][0] += 1
        per[lab["category"]][1] += int(fl)
    cf = [lab for lab in labels if lab["counterfeit"]]
    return {
        "pr_auc": average_precision(y, s),
        "recall_at_p95": recall_at_precision(y, s, 0.95),
        "fpr_genuine": float((flag & ~y).sum() / max(1, (~y).sum())),
        "recall_at_threshold": float((flag & y).sum() / max(1, y.sum())),
        "brand_accuracy": sum(brands.get(lab["listing_id"]) == lab["brand_id"] for lab in cf) / max(1, len(cf)),
        "per_category": {k: v[1] / v[0] for k, v in sorted(per.items())},
    }


def format_report(name: str, r: dict) -> str:
    lines = [f"{name}: PR-AUC {r['pr_auc']:.4f}  recall@P0.95 {r['recall_at_p95']:.4f}  "
             f"FPR(genuine)@0.5 {r['fpr_genuine']:.4f}  recall@0.5 {r['recall_at_threshold']:.4f}  "
             f"brand acc {r['brand_accuracy']:.4f}"]
    for k, v in r["per_category"].items():
        lines.append(f"    {k:24s} {'recall' if k.startswith('cf_') else 'FPR   '} {v:.3f}")
    return "\n".join(lines)

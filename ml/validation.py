"""Honest figures for a scorer: calibration, and recall on counterfeit tricks the model never trained on.

Brand-grouped CV (``ml.train_default.grouped_cv``) measures new brands; ``leave_one_trick_out`` measures new
brands *and* a new trick at once: for each counterfeit category, every fold's model is trained on the other
brands without that category, then scores that category's listings of the held-out brands.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5  # the score the figures call "flagged" (the default review threshold)


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    n: int
    mean_score: float  # what the scorer said
    positive_rate: float  # what was true


def reliability(y: Sequence[int], p: Sequence[float], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width score bins with how often their listings really were counterfeit."""
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        m = which == b
        out.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), int(m.sum()),
                                  float(p[m].mean()) if m.any() else 0.0, float(y[m].mean()) if m.any() else 0.0))
    return out


def expected_calibration_error(y: Sequence[int], p: Sequence[float], bins: int = 10) -> float:
    """Listing-weighted mean gap between score and observed counterfeit rate over ``reliability`` bins."""
    table = reliability(y, p, bins)
    n = sum(b.n for b in table)
    return float(sum(b.n * abs(b.mean_score - b.positive_rate) for b in table) / max(n, 1))


def format_reliability(table: list[ReliabilityBin]) -> str:
    lines = ["    score bin     n   mean score  counterfeit rate"]
    lines += [f"    {b.low:.1f}-{b.high:.1f}  {b.n:5d}   {b.mean_score:10.3f}  {b.positive_rate:16.3f}"
              for b in table if b.n]
    return "\n".join(lines)


Train = Callable[[list[int]], Callable[[list[int]], np.ndarray]]  # train rows -> (test rows -> scores)


@dataclass(frozen=True)
class ExtraRows:
    """Labelled rows added to every training fold and never scored (generated bundles), at a sample weight."""

    features: list[dict[str, float]]
    labels: list[int]
    weight: float = 0.5


def scorer_trainer(features: list[dict[str, float]], y: Sequence[int], *, C: float = 0.3,
                   extra: ExtraRows | None = None) -> Train:
    """A ``Train`` that fits ``ml.scorer.Scorer`` on the given rows (plus ``extra``) and scores other rows."""
    from ml.scorer import Scorer

    def train(rows: list[int]) -> Callable[[list[int]], np.ndarray]:
        feats = [features[i] for i in rows] + (extra.features if extra else [])
        labels = [int(y[i]) for i in rows] + (list(extra.labels) if extra else [])
        weights = [1.0] * len(rows) + ([extra.weight] * len(extra.labels) if extra else [])
        scorer = Scorer.train(feats, labels, C=C, sample_weight=weights if extra else None)
        return lambda test: scorer.predict([features[i] for i in test])

    return train


def grouped_scores(y: Sequence[int], groups: Sequence[str], train: Train, folds: int = 5) -> np.ndarray:
    """Every row scored by a model fitted on the other groups' rows (``GroupKFold``: a brand never spans folds)."""
    from sklearn.model_selection import GroupKFold

    p = np.zeros(len(y))
    idx = np.arange(len(y))
    for tr, te in GroupKFold(folds).split(idx, y, groups):
        p[te] = train(tr.tolist())(te.tolist())
    return p


def leave_one_trick_out(y: Sequence[int], categories: Sequence[str], groups: Sequence[str], train: Train,
                        folds: int = 5) -> dict[str, float]:
    """Recall at ``THRESHOLD`` per counterfeit category (``cf_*``) when neither its brand nor its trick was
    in the training rows. ``train(rows)`` fits on those row indices and returns a scoring function of rows."""
    from sklearn.model_selection import GroupKFold

    cats = np.asarray(categories)
    tricks = sorted({c for c, t in zip(cats.tolist(), y, strict=True) if t and c.startswith("cf_")})
    hits = {t: [0, 0] for t in tricks}
    idx = np.arange(len(y))
    for tr, te in GroupKFold(folds).split(idx, y, groups):
        for trick in tricks:
            test = te[cats[te] == trick]
            if not len(test):
                continue
            score = train(tr[cats[tr] != trick].tolist())
            hits[trick][0] += int((score(test.tolist()) >= THRESHOLD).sum())
            hits[trick][1] += len(test)
    return {t: h[0] / max(h[1], 1) for t, h in hits.items()}


def max_genuine_score(y: Sequence[int], p: Sequence[float]) -> float:
    y, p = np.asarray(y, bool), np.asarray(p, np.float64)
    return float(p[~y].max()) if (~y).any() else 0.0

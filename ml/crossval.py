"""Cross-validation of the scorer on brands and counterfeit tricks it never saw.

Brand-grouped folds: a brand never sits in both the training and the test folds, so the figures are never
measured on a brand the model saw. ``leave_one_trick_out`` measures new brands *and* a new trick at once: for
each counterfeit category, every fold's model is trained on the other brands without that category, then scores
that category's listings of the held-out brands. The category leaves the extra (generated) rows too: the
generator plays the same tricks, and a trick learned from its copies is not an unseen one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ml.scorer import Scorer

THRESHOLD = 0.5  # the score the held-out-trick recall calls "flagged" (the default review threshold)
# (train rows, category left out of every training row or None) -> (test rows -> scores)
Train = Callable[[list[int], str | None], Callable[[list[int]], np.ndarray]]


@dataclass(frozen=True)
class ExtraRows:
    """Labelled rows added to every training fold and never scored (generated bundles), at a sample weight."""

    features: list[dict[str, float]]
    labels: list[int]
    weight: float = 0.5
    categories: list[str] | None = None  # per row, so ``leave_one_trick_out`` can leave a trick out of them

    def without(self, category: str | None) -> ExtraRows:
        """These rows less those of ``category`` (all of them when None or when rows have no categories)."""
        if category is None or self.categories is None:
            return self
        keep = [n for n, c in enumerate(self.categories) if c != category]
        return ExtraRows([self.features[n] for n in keep], [self.labels[n] for n in keep], self.weight,
                         [self.categories[n] for n in keep])


def brand_groups(prefix: str, labels: list[dict], brands: list[str | None]) -> list[str]:
    """CV group per row: the labelled brand (else the attributed one), so a brand never spans folds."""
    return [f"{prefix}:{lab.get('brand_id') or b or 'none'}" for lab, b in zip(labels, brands, strict=True)]


def scorer_trainer(features: list[dict[str, float]], y: Sequence[int], *, C: float = 0.3,
                   weights: Sequence[float] | None = None, extra: ExtraRows | None = None) -> Train:
    """A ``Train`` that fits a ``Scorer`` on the given rows (plus ``extra``) and scores other rows."""

    def train(rows: list[int], left_out: str | None = None) -> Callable[[list[int]], np.ndarray]:
        more = extra.without(left_out) if extra else None
        feats = [features[i] for i in rows] + (more.features if more else [])
        labels = [int(y[i]) for i in rows] + (list(more.labels) if more else [])
        w = ([weights[i] for i in rows] if weights is not None else [1.0] * len(rows)) + (
            [more.weight] * len(more.labels) if more else [])
        scorer = Scorer.train(feats, labels, C=C, sample_weight=w if (more or weights is not None) else None)
        return lambda test: scorer.predict([features[i] for i in test])

    return train


def grouped_scores(y: Sequence[int], groups: Sequence[str], train: Train, folds: int = 5) -> np.ndarray:
    """Every row scored by a model fitted on the other groups' rows (``GroupKFold``)."""
    from sklearn.model_selection import GroupKFold

    p = np.zeros(len(y))
    idx = np.arange(len(y))
    for tr, te in GroupKFold(folds).split(idx, y, groups):
        p[te] = train(tr.tolist(), None)(te.tolist())
    return p


def grouped_cv(features, y, groups, C: float, folds: int = 5, weights: list[float] | None = None) -> np.ndarray:
    """Brand-grouped CV scores of ``Scorer`` models fitted on ``features`` (rows weighted by ``weights``)."""
    return grouped_scores(y, groups, scorer_trainer(features, y, C=C, weights=weights), folds)


def leave_one_trick_out(y: Sequence[int], categories: Sequence[str], groups: Sequence[str], train: Train,
                        folds: int = 5) -> dict[str, float]:
    """Recall at ``THRESHOLD`` per counterfeit category (``cf_*``) when neither its brand nor its trick was
    in the training rows. ``train(rows, trick)`` fits on those row indices, and on the extra rows less that
    trick's, and returns a scoring function of rows."""
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
            score = train(tr[cats[tr] != trick].tolist(), trick)
            hits[trick][0] += int((score(test.tolist()) >= THRESHOLD).sum())
            hits[trick][1] += len(test)
    return {t: h[0] / max(h[1], 1) for t, h in hits.items()}

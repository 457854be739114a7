"""Brand-grouped cross-validation of the scorer: a brand never sits in both the training and the test folds, so
the figures are never measured on a brand the model saw."""
from __future__ import annotations

import numpy as np

from ml.scorer import Scorer


def brand_groups(prefix: str, labels: list[dict], brands: list[str | None]) -> list[str]:
    """CV group per row: the labelled brand (else the attributed one), so a brand never spans folds."""
    return [f"{prefix}:{lab.get('brand_id') or b or 'none'}" for lab, b in zip(labels, brands, strict=True)]


def grouped_cv(features, y, groups, C: float, folds: int = 5, weights: list[float] | None = None) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    p = np.zeros(len(y))
    for tr, te in GroupKFold(folds).split(features, y, groups):
        s = Scorer.train([features[i] for i in tr], [y[i] for i in tr], C=C,
                         sample_weight=[weights[i] for i in tr] if weights else None)
        p[te] = s.predict([features[i] for i in te])
    return p

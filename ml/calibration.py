"""Does a score mean what it says? Reliability bins, expected calibration error, the most confident false alarm.

A score is read as a probability by the review threshold and by moderators, so it has to hold on listings the
scorer never saw: these figures are computed on cross-validated scores (``ml.crossval``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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


def max_genuine_score(y: Sequence[int], p: Sequence[float]) -> float:
    """The highest score any genuine listing got: a confident false alarm at the top of the queue."""
    y, p = np.asarray(y, bool), np.asarray(p, np.float64)
    return float(p[~y].max()) if (~y).any() else 0.0

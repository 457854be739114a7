"""Price signals: ratio to the matched reference's MSRP and to the brand's catalog median."""
from __future__ import annotations

import math


def price_ratio(price: float | None, reference_price: float | None) -> float | None:
    if price is None or not reference_price or reference_price <= 0 or price < 0:
        return None
    return price / reference_price


def log_ratio_feature(ratio: float | None) -> float:
    """log2 of the ratio clipped to [-5, 2]; 0 (fair price) when unknown so it adds no evidence."""
    if ratio is None:
        return 0.0
    return max(-5.0, min(2.0, math.log2(max(ratio, 1e-3))))

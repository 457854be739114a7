"""Seller accounts whose history features overlap across kinds (no single field gives the label away)."""

from __future__ import annotations

import math
import random

# (median account age days, sigma), (P(0), P(1), else 2-6 takedowns), (median prior sales, sigma)
_PROFILES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "authorized": ((2000, 0.7), (0.85, 0.12), (8000, 1.4)),
    "reseller": ((800, 0.9), (0.7, 0.2), (250, 1.4)),
    "counterfeiter": ((260, 1.1), (0.45, 0.3), (90, 1.6)),
}


def seller_features(rng: random.Random, kind: str) -> dict[str, int]:
    (age_m, age_s), (p0, p1), (sales_m, sales_s) = _PROFILES[kind]
    age = int(min(7000, max(1, math.exp(rng.gauss(math.log(age_m), age_s)))))
    r = rng.random()
    takedowns = 0 if r < p0 else 1 if r < p0 + p1 else rng.randint(2, 6)
    sales = int(min(500_000, max(0, math.exp(rng.gauss(math.log(sales_m), sales_s)) - 1)))
    return {"account_age_days": age, "prior_takedowns": takedowns, "prior_sales": sales}

"""Seller features: authorisation, trust rating, account age, takedown history."""
from __future__ import annotations

import math

from ml.types import SellerInfo


def seller_features(seller: SellerInfo, brand_id: str | None) -> dict[str, float]:
    tr = seller.trust_rating
    return {
        "seller_authorized": float(brand_id is not None and brand_id in seller.authorized_brands),
        "seller_log_age": math.log1p(max(0, seller.account_age_days)) / 8.0,
        "seller_takedowns": min(5.0, float(seller.prior_takedowns)),
        "seller_log_sales": math.log1p(max(0, seller.prior_sales)) / 10.0,
        "seller_trust": ((tr - 650.0) / 300.0) if tr is not None else 0.0,
    }

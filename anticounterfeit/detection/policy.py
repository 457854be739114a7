"""The review threshold: one source of truth for the bar a listing's score must reach to open a case."""
from anticounterfeit.listings.models import Listing

from .models import BrandPolicy, DetectionPolicy

# The seller's trust tier moves the bar a little (never enough to hide a strong match: see review_threshold_for).
TIER_ADJUSTMENT = {"restricted": -0.15, "poor": -0.1, "fair": -0.03, "excellent": 0.05}


def brand_review_threshold(brand) -> float | None:
    """The brand's override, or None (use the global DetectionPolicy)."""
    if brand is None:
        return None
    return BrandPolicy.objects.filter(brand=brand).values_list("review_threshold", flat=True).first()


def review_threshold_for(listing: Listing, policy: DetectionPolicy | None = None) -> float:
    """The brand's override or the policy threshold, nudged by the seller's trust tier (never enough to hide a strong match)."""
    threshold = brand_review_threshold(listing.matched_brand)
    if threshold is None:
        threshold = (policy or DetectionPolicy.current()).review_threshold
    return tier_adjusted(threshold, listing.seller.trust_tier)


def tier_adjusted(threshold: float, trust_tier: str) -> float:
    """The seller's tier nudge: it may raise the bar up to 0.8 (never hiding a strong match); a threshold set
    above that stays as set. Backtests apply it to candidate thresholds the same way."""
    adjust = TIER_ADJUSTMENT.get(trust_tier, 0.0)
    return min(max(threshold + adjust, 0.05), max(threshold, 0.8))

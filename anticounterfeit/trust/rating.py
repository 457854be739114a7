"""Seller trust rating: a Beta-posterior reputation over decayed events, mapped to 350–950.

Pure functions over event values so the rating can be recomputed from history at any time
and unit-tested without a database.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SCALE_MIN, SCALE_MAX = 350, 950
TIERS = [(800, "excellent"), (700, "good"), (600, "fair"), (480, "poor"), (0, "restricted")]


@dataclass(frozen=True)
class RatingConfig:
    half_life_days: float = 180.0
    prior_good: float = 3.0
    prior_bad: float = 1.5


@dataclass(frozen=True)
class EventValue:
    event_id: int
    label: str
    good: float
    bad: float
    occurred_at: datetime
    reversed: bool = False


@dataclass(frozen=True)
class Rating:
    score: int
    tier: str
    mean: float
    contributions: list[tuple[str, int]]  # (event label, points it moved the rating), largest first


def decay(occurred_at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max((now - occurred_at).total_seconds() / 86400.0, 0.0)
    return 0.5 ** (age_days / half_life_days)


def tier_for(score: int) -> str:
    return next(name for floor, name in TIERS if score >= floor)


def _to_scale(good: float, bad: float) -> tuple[int, float]:
    mean = good / (good + bad)
    return round(SCALE_MIN + (SCALE_MAX - SCALE_MIN) * mean), mean


def compute_rating(events: Iterable[EventValue], now: datetime, config: RatingConfig = RatingConfig()) -> Rating:
    """Reversed events (e.g. a takedown overturned on appeal) count for nothing: reinstatement restores exactly."""
    good, bad = config.prior_good, config.prior_bad
    weighted = []
    for event in events:
        if event.reversed:
            continue
        w = decay(event.occurred_at, now, config.half_life_days)
        good += event.good * w
        bad += event.bad * w
        weighted.append((event, event.good * w, event.bad * w))
    score, mean = _to_scale(good, bad)
    # Each event's effect when it was added, in time order (with today's decay): the effects add up to the
    # distance from the prior, unlike leave-one-out effects, which understate repeated strikes.
    contributions = []
    g_run, b_run = config.prior_good, config.prior_bad
    for event, g, b in weighted:
        before = g_run / (g_run + b_run)
        g_run, b_run = g_run + g, b_run + b
        points = round((SCALE_MAX - SCALE_MIN) * (g_run / (g_run + b_run) - before))
        if points:
            contributions.append((event.label, points))
    contributions.sort(key=lambda item: abs(item[1]), reverse=True)
    return Rating(score=score, tier=tier_for(score), mean=mean, contributions=contributions)


def history_weights(account_age_days: int, prior_sales: int, prior_takedowns: int) -> tuple[float, float]:
    """Evidence from a seller's record at onboarding: sales and tenure count for, past takedowns against."""
    good = min(prior_sales, 2000) / 100.0 + min(account_age_days / 365.0, 5.0) * 0.5
    bad = 2.0 * prior_takedowns
    return good, bad


# --- Event weights (good, bad) before decay; stored on each TrustEvent so recomputing uses the same values ---
BASE_WEIGHTS = {
    "takedown": (0.0, 3.0),  # confirmed by a moderator
    "brand_removal": (0.0, 2.0),  # a brand's self-service removal: weighs less than a moderator's confirmation
    "dismissed_flag": (0.5, 0.0),
    "clean_sales": (0.0, 0.0),  # good = sales / 100, see weights_for
    "linked_seller": (0.0, 1.0),  # shares images with another seller's confirmed counterfeit
    "reinstated": (0.0, 0.0),
    "link_removed": (0.0, 0.0),
    # Tenure keeps counting after onboarding: one credit per ACCOUNT_AGE_PERIOD_DAYS, at the onboarding rate
    # (0.5 per year, see history_weights). Being decayed like every event, its total stays bounded.
    "account_age": (0.5 * 30 / 365.0, 0.0),
}
ACCOUNT_AGE_PERIOD_DAYS = 30
# How much a strike counts by the reason it was taken down for (an outright fake is the worst).
SEVERITY = {"counterfeit": 1.0, "trademark_misuse": 0.6, "unauthorized_images": 0.5}
STRIKE_KINDS = frozenset({"takedown", "brand_removal"})


def weights_for(kind: str, reason_code: str | None = None, quantity: float = 0.0) -> tuple[float, float]:
    """(good, bad) evidence for one event; strikes are scaled by the severity of their reason code."""
    if kind == "clean_sales":
        return min(quantity, 5000.0) / 100.0, 0.0
    good, bad = BASE_WEIGHTS.get(kind, (0.0, 0.0))
    if kind in STRIKE_KINDS:
        bad *= SEVERITY.get(reason_code or "", 1.0)
    return good, bad


def strikes_in_window(strike_times: Iterable[datetime], now: datetime, window_days: float) -> int:
    """How many (non-reversed) strikes fall inside the repeat-infringer window ending now."""
    return sum(1 for t in strike_times if 0 <= (now - t).total_seconds() <= window_days * 86400.0)

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
    contributions = []
    for event, g, b in weighted:
        without, _ = _to_scale(good - g, bad - b)
        if score != without:
            contributions.append((event.label, score - without))
    contributions.sort(key=lambda item: abs(item[1]), reverse=True)
    return Rating(score=score, tier=tier_for(score), mean=mean, contributions=contributions)


def history_weights(account_age_days: int, prior_sales: int, prior_takedowns: int) -> tuple[float, float]:
    """Evidence from a seller's record at onboarding: sales and tenure count for, past takedowns against."""
    good = min(prior_sales, 2000) / 100.0 + min(account_age_days / 365.0, 5.0) * 0.5
    bad = 2.0 * prior_takedowns
    return good, bad

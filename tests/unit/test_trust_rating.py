"""Trust rating math (pure functions; no database)."""
from datetime import UTC, datetime, timedelta

from anticounterfeit.trust.rating import EventValue, RatingConfig, compute_rating, history_weights, tier_for

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CFG = RatingConfig(half_life_days=180, prior_good=3.0, prior_bad=1.5)


def event(n, good=0.0, bad=0.0, days_ago=0, reversed=False, label="event"):
    return EventValue(n, label, good, bad, NOW - timedelta(days=days_ago), reversed=reversed)


def test_new_seller_gets_the_prior_and_a_middle_tier():
    rating = compute_rating([], NOW, CFG)
    assert rating.score == 750 and rating.tier == "good"


def test_takedown_lowers_and_good_history_raises():
    base = compute_rating([], NOW, CFG).score
    assert compute_rating([event(1, bad=3.0)], NOW, CFG).score < base
    assert compute_rating([event(1, good=10.0)], NOW, CFG).score > base


def test_old_events_weigh_less_than_new_ones():
    recent = compute_rating([event(1, bad=3.0, days_ago=1)], NOW, CFG).score
    old = compute_rating([event(1, bad=3.0, days_ago=720)], NOW, CFG).score
    assert old > recent


def test_reinstatement_restores_exactly():
    history = [event(1, good=5.0, days_ago=30)]
    before = compute_rating(history, NOW, CFG).score
    after_strike = compute_rating(history + [event(2, bad=3.0)], NOW, CFG).score
    restored = compute_rating(history + [event(2, bad=3.0, reversed=True)], NOW, CFG).score
    assert after_strike < before == restored


def test_explanation_names_the_events_that_moved_it_most():
    rating = compute_rating([event(1, good=1.0, label="small"), event(2, bad=6.0, label="takedown")], NOW, CFG)
    assert rating.contributions[0][0] == "takedown" and rating.contributions[0][1] < 0


def test_scale_and_tiers():
    assert 350 <= compute_rating([event(1, bad=1000)], NOW, CFG).score < 360
    assert 940 < compute_rating([event(1, good=1000)], NOW, CFG).score <= 950
    assert [tier_for(s) for s in (950, 800, 799, 650, 500, 400)] == ["excellent", "excellent", "good", "fair", "poor",
                                                                     "restricted"]


def test_history_weights_count_sales_and_takedowns():
    good, bad = history_weights(account_age_days=730, prior_sales=500, prior_takedowns=2)
    assert good == 5.0 + 1.0 and bad == 4.0

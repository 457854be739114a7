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


def test_strikes_weigh_by_severity_and_by_who_decided():
    from anticounterfeit.trust.rating import weights_for

    assert weights_for("takedown", "counterfeit") == (0.0, 3.0)
    assert weights_for("takedown", "unauthorized_images")[1] < weights_for("takedown", "trademark_misuse")[1] < 3.0
    assert weights_for("brand_removal", "counterfeit")[1] < weights_for("takedown", "counterfeit")[1]
    assert weights_for("clean_sales", quantity=250) == (2.5, 0.0)
    assert weights_for("reinstated", "counterfeit") == (0.0, 0.0)
    fake = compute_rating([event(1, bad=weights_for("takedown", "counterfeit")[1])], NOW, CFG).score
    images = compute_rating([event(1, bad=weights_for("takedown", "unauthorized_images")[1])], NOW, CFG).score
    assert fake < images


def test_half_life_is_configurable_and_halves_the_weight():
    strike = [event(1, bad=3.0, days_ago=30)]
    short = compute_rating(strike, NOW, RatingConfig(half_life_days=30)).score
    long = compute_rating(strike, NOW, RatingConfig(half_life_days=3000)).score
    assert short > long  # with a short half-life the month-old strike has faded
    half = compute_rating([event(1, bad=1.5)], NOW, RatingConfig(half_life_days=30)).score
    assert short == half  # one half-life = half the evidence


def test_repeat_infringer_window_counts_only_recent_strikes():
    from anticounterfeit.trust.rating import strikes_in_window

    times = [NOW - timedelta(days=d) for d in (1, 30, 89, 91, 400)]
    assert strikes_in_window(times, NOW, 90) == 3
    assert strikes_in_window(times, NOW, 30) == 2
    assert strikes_in_window([NOW + timedelta(days=1)], NOW, 90) == 0  # never counts the future


def test_explanation_adds_up_to_the_distance_from_the_prior():
    events = [event(1, good=4.0, days_ago=200, label="sales")] + [
        event(n, bad=3.0, days_ago=10 - n, label=f"takedown {n}") for n in range(2, 5)]
    rating = compute_rating(events, NOW, CFG)
    prior = compute_rating([], NOW, CFG).score
    assert abs(sum(points for _, points in rating.contributions) - (rating.score - prior)) <= len(events)
    assert all(points < 0 for label, points in rating.contributions if label.startswith("takedown"))


def test_account_age_credits_match_the_onboarding_rate_and_stay_bounded():
    from anticounterfeit.trust.rating import ACCOUNT_AGE_PERIOD_DAYS, weights_for

    good, bad = weights_for("account_age")
    year_at_onboarding = history_weights(365, 0, 0)[0]
    assert bad == 0 and abs(good * 365 / ACCOUNT_AGE_PERIOD_DAYS - year_at_onboarding) < 1e-9
    monthly = lambda months: [event(n, good=good, days_ago=n * ACCOUNT_AGE_PERIOD_DAYS) for n in range(months)]  # noqa: E731
    one_year, ten_years = compute_rating(monthly(12), NOW, CFG), compute_rating(monthly(120), NOW, CFG)
    assert compute_rating([], NOW, CFG).score < one_year.score <= ten_years.score < 800  # tenure alone is not "excellent"

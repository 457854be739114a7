"""The demo history's schedule: arrivals within the period, in order, the same for the same seed."""
import random
from datetime import UTC, datetime, timedelta

from anticounterfeit.core.demo_history import arrival_times, lognormal

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=42)


def test_arrivals_lie_in_the_period_in_order_and_grow_towards_the_end():
    times = arrival_times(random.Random(7), 400, START, END)
    assert times == sorted(times)
    assert START <= times[0] and times[-1] <= END
    first_half = sum(t < START + (END - START) / 2 for t in times)
    assert first_half < len(times) / 2  # the marketplace grows: more listings in the later weeks


def test_the_same_seed_gives_the_same_arrivals():
    assert arrival_times(random.Random(3), 50, START, END) == arrival_times(random.Random(3), 50, START, END)
    assert arrival_times(random.Random(3), 50, START, END) != arrival_times(random.Random(4), 50, START, END)


def test_delays_stay_within_their_bounds():
    rng = random.Random(1)
    delays = [lognormal(rng, timedelta(hours=5), 2.0, timedelta(minutes=10), timedelta(hours=60)) for _ in range(500)]
    assert min(delays) == timedelta(minutes=10) and max(delays) == timedelta(hours=60)  # wide sigma hits both bounds

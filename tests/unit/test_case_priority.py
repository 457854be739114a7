"""Case priority in the moderation queue: score × seller exposure × recency, brand reports a tier above scans."""
import math
from datetime import UTC, datetime, timedelta

import pytest

from anticounterfeit.moderation import actions

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _priority(score, *, sales=0, source="scan", at=T0) -> float:
    return actions.case_priority(score, seller_sales=sales, source=source, opened_at=at)


def test_priority_is_score_times_exposure_times_recency(settings):
    settings.CASE_PRIORITY_HALF_LIFE = timedelta(hours=72)
    # exposure: a seller with 10k prior sales counts 1/0.8 of one with none (at most +25%)
    assert math.exp(_priority(0.8, sales=10_000) - _priority(0.8)) == pytest.approx(1 / 0.8)
    # recency: equal score, the newer case ranks above the older one
    assert _priority(0.8, at=T0 + timedelta(minutes=1)) > _priority(0.8)
    # one half-life newer with half the score ties: priority is log(score × exposure × 2^(t / half-life))
    assert _priority(0.4, at=T0 + timedelta(hours=72)) == pytest.approx(_priority(0.8))
    # a much stronger match still beats a case a day newer
    assert _priority(0.99) > _priority(0.6, at=T0 + timedelta(days=1))
    assert _priority(0.99) > _priority(0.75, at=T0 + timedelta(hours=12))
    # brand reports sit a tier above every scan, even a year-newer perfect one; a zero score stays finite
    assert _priority(0.0, source="brand_report") > _priority(1.0, sales=10_000, at=T0 + timedelta(days=365))

"""Every change of a seller's trust goes through here: one TrustEvent row, then the stored rating is refreshed."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit

from .models import TrustEvent
from .rating import EventValue, Rating, RatingConfig, compute_rating, history_weights

WEIGHTS = {
    TrustEvent.Kind.TAKEDOWN: (0.0, 3.0),
    TrustEvent.Kind.BRAND_REMOVAL: (0.0, 2.0),
    TrustEvent.Kind.DISMISSED_FLAG: (0.5, 0.0),
    TrustEvent.Kind.REINSTATED: (0.0, 0.0),
}


def rating_config() -> RatingConfig:
    cfg = settings.TRUST
    return RatingConfig(half_life_days=cfg["HALF_LIFE_DAYS"], prior_good=cfg["PRIOR_GOOD"], prior_bad=cfg["PRIOR_BAD"])


def rating_for(seller, now=None) -> Rating:
    events = seller.trust_events.all()
    reversed_ids = set(TrustEvent.objects.filter(seller=seller, reverses__isnull=False).values_list("reverses_id", flat=True))
    values = [
        EventValue(e.pk, e.get_kind_display(), e.good, e.bad, e.occurred_at, reversed=e.pk in reversed_ids) for e in events
    ]
    return compute_rating(values, now or timezone.now(), rating_config())


def refresh_rating(seller, now=None) -> Rating:
    rating = rating_for(seller, now)
    type(seller).objects.filter(pk=seller.pk).update(trust_rating=rating.score, trust_tier=rating.tier)
    seller.trust_rating, seller.trust_tier = rating.score, rating.tier
    return rating


@transaction.atomic
def record_trust_event(seller, kind: str, *, decision=None, reverses=None, note: str = "", acting_user=None) -> TrustEvent:
    good, bad = WEIGHTS.get(kind, (0.0, 0.0))
    before = seller.trust_rating
    event = TrustEvent.objects.create(
        seller=seller, kind=kind, good=good, bad=bad, occurred_at=timezone.now(),
        decision=decision, reverses=reverses, note=note,
    )
    rating = refresh_rating(seller)
    TrustEvent.objects.filter(pk=event.pk).update(rating_after=rating.score)
    audit.record("trust.event", seller, actor=acting_user, before={"rating": before},
                 after={"rating": rating.score, "tier": rating.tier, "event": kind})
    return event


@transaction.atomic
def onboard_seller_history(seller) -> TrustEvent:
    """The seller's record at onboarding becomes the first event, so the rating is history-only."""
    good, bad = history_weights(seller.account_age_days, seller.prior_sales, seller.prior_takedowns)
    event, _ = TrustEvent.objects.update_or_create(
        seller=seller, kind=TrustEvent.Kind.HISTORY,
        defaults={"good": good, "bad": bad, "occurred_at": timezone.now(),
                  "note": f"{seller.prior_sales} sales, {seller.account_age_days} days, {seller.prior_takedowns} prior takedowns"},
    )
    rating = refresh_rating(seller)
    TrustEvent.objects.filter(pk=event.pk).update(rating_after=rating.score)
    return event

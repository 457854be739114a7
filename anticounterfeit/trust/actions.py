"""Every change of a seller's trust goes through here: one TrustEvent row, then the stored rating is refreshed.

Strikes also drive the repeat-infringer policy (restriction reviews) and suggest links to sellers whose listings
share images with the confirmed counterfeit. A suggested link is evidence for a moderator, never a strike: only
a confirmed link, or the seller's own confirmed takedowns, move a rating.
"""
from datetime import date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from anticounterfeit.accounts.models import is_lead, is_staff_role
from anticounterfeit.core import audit, queue, tasks
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from anticounterfeit.moderation.models import Decision
from anticounterfeit.notifications.actions import notify_leads, notify_seller, send_webhooks

from .models import CleanSalesReport, RestrictionReview, SellerIdentityLink, SellerLink, TrustEvent
from .rating import (
    ACCOUNT_AGE_PERIOD_DAYS,
    STRIKE_KINDS,
    EventValue,
    Rating,
    RatingConfig,
    compute_rating,
    history_weights,
    strikes_in_window,
    weights_for,
)


class NotALead(PermissionError):
    """Only a lead (or admin) may restrict a seller or lift a restriction."""


class SalesReportConflict(ValueError):
    """A client re-used one of its report ids for a different report."""


class NotStaff(PermissionError):
    """Only staff confirm a seller link or link sellers of different marketplaces."""


def rating_config() -> RatingConfig:
    cfg = settings.TRUST
    return RatingConfig(half_life_days=cfg["HALF_LIFE_DAYS"], prior_good=cfg["PRIOR_GOOD"], prior_bad=cfg["PRIOR_BAD"])


def _reversed_ids(seller) -> set[int]:
    return set(TrustEvent.objects.filter(seller=seller, reverses__isnull=False).values_list("reverses_id", flat=True))


def rating_for(seller, now=None) -> Rating:
    reversed_ids = _reversed_ids(seller)
    values = [
        EventValue(e.pk, e.get_kind_display(), e.good, e.bad, e.occurred_at, reversed=e.pk in reversed_ids)
        for e in seller.trust_events.all()
    ]
    return compute_rating(values, now or timezone.now(), rating_config())


def refresh_rating(seller, now=None) -> Rating:
    rating = rating_for(seller, now)
    type(seller).objects.filter(pk=seller.pk).update(trust_rating=rating.score, trust_tier=rating.tier)
    seller.trust_rating, seller.trust_tier = rating.score, rating.tier
    return rating


@transaction.atomic
def record_trust_event(seller, kind: str, *, decision=None, reverses=None, note: str = "", quantity: float = 0.0,
                       acting_user=None, occurred_at: datetime | None = None) -> TrustEvent:
    """Weights come from the kind and the decision's reason code (severity), and are stored on the row.

    A strike's seller links are found by a worker (``workers.trust.link_sellers``) after commit: comparing
    images across sellers must not slow down, or fail, the moderator's takedown.
    """
    good, bad = weights_for(kind, decision.reason_code if decision is not None else None, quantity)
    before = seller.trust_rating
    event = TrustEvent.objects.create(
        seller=seller, kind=kind, good=good, bad=bad, occurred_at=occurred_at or timezone.now(),
        decision=decision, reverses=reverses, note=note[:200],
    )
    _count_takedown(seller, kind, reverses)
    rating = refresh_rating(seller)
    TrustEvent.objects.filter(pk=event.pk).update(rating_after=rating.score)
    event.rating_after = rating.score
    audit.record("trust.event", seller, actor=acting_user, before={"rating": before},
                 after={"rating": rating.score, "tier": rating.tier, "event": kind})
    if kind in STRIKE_KINDS:
        if decision is not None:
            queue.enqueue(tasks.LINK_SELLERS, decision.pk)
        check_repeat_infringer(seller, acting_user=acting_user)
    return event


def _count_takedown(seller, kind: str, reverses) -> None:
    """``prior_takedowns`` moves with the strike (or its reversal) in the same transaction as the event."""
    from django.db.models import F

    step = 1 if kind in STRIKE_KINDS else -1 if reverses is not None and reverses.kind in STRIKE_KINDS else 0
    if step:
        type(seller).objects.filter(pk=seller.pk).update(prior_takedowns=F("prior_takedowns") + step)
        seller.refresh_from_db(fields=["prior_takedowns"])


def takedowns_from_history(seller) -> int:
    """What ``prior_takedowns`` must equal: the onboarding record plus the confirmed takedowns in force."""
    reversed_ids = _reversed_ids(seller)
    strikes = TrustEvent.objects.filter(seller=seller, kind__in=STRIKE_KINDS).values_list("pk", flat=True)
    return seller.onboarded_takedowns + sum(1 for pk in strikes if pk not in reversed_ids)


@transaction.atomic
def reverse_strike(decision, *, acting_user=None) -> TrustEvent | None:
    """An appeal reinstated the listing: the strike and the links it created count for nothing any more."""
    strike = TrustEvent.objects.filter(decision=decision, kind__in=STRIKE_KINDS).first()
    if strike is None:
        return None
    listing = decision.case.listing
    for link in SellerLink.objects.filter(source_listing=listing).select_related("seller"):
        linked_event = TrustEvent.objects.filter(seller=link.seller, kind=TrustEvent.Kind.LINKED,
                                                 note=_link_note(listing), reversed_by__isnull=True).first()
        link.delete()
        if linked_event is not None:
            record_trust_event(link.seller, TrustEvent.Kind.LINK_REMOVED, reverses=linked_event, acting_user=acting_user)
    return record_trust_event(listing.seller, TrustEvent.Kind.REINSTATED, reverses=strike, decision=decision,
                              acting_user=acting_user)


@transaction.atomic
def record_clean_sales(seller, sales: int, *, acting_user=None, occurred_at: datetime | None = None) -> TrustEvent:
    """The marketplace reports completed sales without complaints; they count for the seller, with decay."""
    return record_trust_event(seller, TrustEvent.Kind.CLEAN_SALES, quantity=sales, note=f"{sales} sales",
                              acting_user=acting_user, occurred_at=occurred_at)


def _end_of_period(period_end: date, now: datetime) -> datetime:
    """Sales count from the end of their period (so an older report has decayed more), never from the future."""
    end = timezone.make_aware(datetime.combine(period_end, time.max), timezone.get_current_timezone())
    return min(end, now)


def record_sales_report(client, seller, *, report_key: str, count: int, period_end: date,
                        acting_user=None) -> tuple[CleanSalesReport, bool]:
    """Idempotent by the client's ``report_key``: the same report again returns the stored one (created=False);
    the same id with different content raises SalesReportConflict. Bounds are checked by the API serializer.
    A client reports only sellers of its own tenant."""
    if seller.client_id != client.pk:
        raise PermissionError(f"seller {seller.pk} is not a seller of client {client.pk}")
    existing = CleanSalesReport.objects.filter(client=client, report_key=report_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                event = record_clean_sales(seller, count, acting_user=acting_user,
                                           occurred_at=_end_of_period(period_end, timezone.now()))
                report = CleanSalesReport.objects.create(client=client, report_key=report_key, seller=seller,
                                                         count=count, period_end=period_end, event=event)
            return report, True
        except IntegrityError:  # the same id arrived twice at once: the other request stored it
            existing = CleanSalesReport.objects.get(client=client, report_key=report_key)
    if (existing.seller_id, existing.count, existing.period_end) != (seller.pk, count, period_end):
        raise SalesReportConflict(f"report_id '{report_key}' was already used for a different report "
                                  f"({existing.count} sales to {existing.period_end.isoformat()})")
    return existing, False


# --- Account age: tenure counts month by month, as events (so the rating stays a function of history) ---

@transaction.atomic
def credit_account_age(seller_id: int, now: datetime | None = None, max_periods: int = 24) -> int:
    """Add the tenure credits that fell due since the seller's record was created (one per period, dated when it
    fell due, at most ``max_periods`` of the latest); returns how many were added. Safe to run any number of times."""

    now = now or timezone.now()
    seller = Seller.objects.select_for_update().filter(pk=seller_id).first()
    if seller is None:
        return 0
    period = timedelta(days=ACCOUNT_AGE_PERIOD_DAYS)
    due = int((now - seller.created_at) / period)
    have = set(TrustEvent.objects.filter(seller=seller, kind=TrustEvent.Kind.ACCOUNT_AGE).values_list("note", flat=True))
    missing = [n for n in range(max(1, due - max_periods + 1), due + 1) if f"month {n}" not in have]
    if not missing:
        return 0
    good, bad = weights_for(TrustEvent.Kind.ACCOUNT_AGE)
    before = seller.trust_rating
    events = TrustEvent.objects.bulk_create([
        TrustEvent(seller=seller, kind=TrustEvent.Kind.ACCOUNT_AGE, good=good, bad=bad,
                   occurred_at=seller.created_at + n * period, note=f"month {n}") for n in missing])
    rating = refresh_rating(seller, now)
    TrustEvent.objects.filter(pk__in=[e.pk for e in events]).update(rating_after=rating.score)
    audit.record("trust.account_age", seller, before={"rating": before},
                 after={"rating": rating.score, "tier": rating.tier, "periods": missing})
    return len(missing)


def credit_account_age_batch(*, after_pk: int = 0, limit: int = 500, now=None) -> tuple[int, int | None]:
    """One bounded slice of sellers (by pk) whose next tenure credit is due. Returns (credits added, the pk to
    continue after, or None when the slice was the last)."""

    now = now or timezone.now()
    period = timedelta(days=ACCOUNT_AGE_PERIOD_DAYS)
    rows = list(Seller.objects.filter(pk__gt=after_pk, created_at__lte=now - period).order_by("pk").annotate(
        last=Max("trust_events__occurred_at", filter=Q(trust_events__kind=TrustEvent.Kind.ACCOUNT_AGE))).values_list(
        "pk", "created_at", "last")[:limit])
    added = sum(credit_account_age(pk, now) for pk, created, last in rows if (last or created) + period <= now)
    return added, (rows[-1][0] if len(rows) == limit else None)


@transaction.atomic
def onboard_seller_history(seller) -> TrustEvent:
    """The seller's record at onboarding becomes the first event, so the rating is history-only."""
    good, bad = history_weights(seller.account_age_days, seller.prior_sales, seller.onboarded_takedowns)
    event, _ = TrustEvent.objects.update_or_create(
        seller=seller, kind=TrustEvent.Kind.HISTORY,
        defaults={"good": good, "bad": bad, "occurred_at": timezone.now(),
                  "note": f"{seller.prior_sales} sales, {seller.account_age_days} days, "
                          f"{seller.onboarded_takedowns} prior takedowns"},
    )
    rating = refresh_rating(seller)
    TrustEvent.objects.filter(pk=event.pk).update(rating_after=rating.score)
    return event


# --- Linked sellers ---

def _link_note(source_listing) -> str:
    # Names only the source listing's internal id (never shown to the linked seller: see rating labels).
    return f"link:{source_listing.pk}"


def _pdq_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def link_sellers_for_decision(decision_id: int) -> int:
    """What the ``workers.trust.link_sellers`` task runs: link the sellers for a takedown that is still in force.

    The source listing is locked first, so a reinstatement either happened already (nothing to link) or waits
    for these links and then removes them. Re-running finds the links already there (idempotent).
    """

    decision = Decision.objects.select_related("case").filter(pk=decision_id).first()
    if decision is None:
        return 0
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=decision.case.listing_id)
        strike_in_force = TrustEvent.objects.filter(decision=decision, kind__in=STRIKE_KINDS,
                                                    reversed_by__isnull=True).exists()
        if listing.status != Listing.Status.REMOVED or not strike_in_force:
            return 0
        return len(link_sellers(listing))


def link_sellers(source_listing, *, acting_user=None) -> list[SellerLink]:
    """Suggest links to other sellers of the same tenant whose listings share a near-identical image (PDQ, or
    vector) with a confirmed counterfeit. Suggestions move no rating (anyone can copy a competitor's photos): a
    moderator confirms them (``decide_seller_link``). Images that are no evidence are left out: the brand's
    catalog photos (the scan matched them to a reference) and photos many sellers share (marketplace stock).

    Candidates are bounded: exact PDQ matches (indexed) plus the most recent listings matched to the same brand.
    """

    cfg = settings.TRUST
    source_images = [i for i in evidence_images(source_listing) if i.pdq or i.vector]
    if not source_images:
        return []
    others = ListingImage.objects.filter(listing__client_id=source_listing.client_id).exclude(
        listing__seller_id=source_listing.seller_id).exclude(listing__status=Listing.Status.REMOVED).exclude(
        pdq__in=_common_pdqs(source_listing, cfg)).select_related("listing__seller")
    pdqs = {i.pdq for i in source_images if i.pdq}
    candidates = {img.pk: img for img in others.filter(pdq__in=pdqs)[: cfg["LINK_CANDIDATES"]]}
    if source_listing.matched_brand_id:
        for img in others.filter(listing__matched_brand_id=source_listing.matched_brand_id).order_by(
                "-listing__created_at")[: cfg["LINK_CANDIDATES"]]:
            candidates.setdefault(img.pk, img)
    source_vectors = [np.frombuffer(bytes(i.vector), dtype=np.float32) for i in source_images if i.vector]
    similarities = _vector_similarities(list(candidates.values()), source_vectors)
    best: dict[int, tuple[str, float, object]] = {}  # listing pk -> (via, similarity, image)
    for img in candidates.values():
        found = _image_match(img, pdqs, similarities.get(img.pk, -1.0), cfg)
        if found and (img.listing_id not in best or found[1] > best[img.listing_id][1]):
            best[img.listing_id] = (*found, img)
    links = []
    for via, similarity, img in best.values():
        link, created = SellerLink.objects.get_or_create(
            listing=img.listing, source_listing=source_listing,
            defaults={"seller": img.listing.seller, "linked_seller": source_listing.seller, "via": via,
                      "similarity": similarity},
        )
        if created:
            audit.record("seller_link.suggest", link, actor=acting_user,
                         after={"seller": link.seller_id, "source_listing": source_listing.pk, "via": via})
        links.append(link)
    return links


def evidence_images(listing) -> list:
    """The listing's images that can link sellers: not the brand's own catalog photos (a copy of a reference
    image, by PDQ or a near-identical vector), which every honest reseller may show too."""
    detection = listing.detections.first()
    catalog = set()
    for match in (detection.matches if detection is not None else []):
        if match.get("listing_image") is not None and (
                match["kind"] == "pdq" or (match["kind"] == "image"
                                           and match["score"] >= settings.TRUST["LINK_MIN_COSINE"])):
            catalog.add(match["listing_image"])
    return [image for image in listing.images.all() if image.position not in catalog]


def _common_pdqs(listing, cfg: dict) -> list[str]:
    """The listing's image hashes that many sellers of its tenant show (stock photos): no evidence of a link."""
    from django.db.models import Count


    own = [p for p in listing.images.exclude(pdq="").values_list("pdq", flat=True)]
    return list(ListingImage.objects.filter(pdq__in=own, listing__client_id=listing.client_id).values("pdq").annotate(
        sellers=Count("listing__seller", distinct=True)).filter(sellers__gte=cfg["LINK_COMMON_IMAGE_SELLERS"])
        .values_list("pdq", flat=True))


@transaction.atomic
def decide_seller_link(link_id: int, *, acting_user, confirm: bool) -> SellerLink:
    """A moderator confirms a suggested link (it enters the seller's rating as a ``linked_seller`` event) or
    dismisses it (nothing changes). Audited."""

    if not is_staff_role(acting_user):
        raise NotStaff("only staff can confirm a seller link")
    link = SellerLink.objects.select_for_update().select_related("seller", "source_listing").get(pk=link_id)
    if link.state != SellerLink.State.SUGGESTED:
        raise ValueError(f"seller link #{link.pk} is {link.get_state_display().lower()} already")
    link.state = SellerLink.State.CONFIRMED if confirm else SellerLink.State.DISMISSED
    link.decided_by, link.decided_at = acting_user, timezone.now()
    link.save(update_fields=["state", "decided_by", "decided_at"])
    audit.record("seller_link.decide", link, actor=acting_user, before={"state": "suggested"},
                 after={"state": link.state})
    note = _link_note(link.source_listing)
    if confirm and not TrustEvent.objects.filter(seller=link.seller, kind=TrustEvent.Kind.LINKED, note=note,
                                                 reversed_by__isnull=True).exists():
        record_trust_event(link.seller, TrustEvent.Kind.LINKED, note=note, acting_user=acting_user)
    return link


@transaction.atomic
def link_same_seller(seller, other, *, acting_user, note: str = "") -> SellerIdentityLink:
    """Staff state that two seller records (usually of two marketplaces) are one real-world seller. Explicit
    and audited; it moves no rating and shares nothing with either marketplace."""

    if not is_staff_role(acting_user):
        raise NotStaff("only staff can link sellers across marketplaces")
    first, second = sorted([seller, other], key=lambda s: s.pk)
    link, created = SellerIdentityLink.objects.get_or_create(seller=first, other=second,
                                                             defaults={"note": note[:200], "linked_by": acting_user})
    if created:
        audit.record("seller.identity_link", first, actor=acting_user,
                     after={"other": second.pk, "other_client": second.client_id, "note": note[:200]})
    return link


def _image_match(img, pdqs: set[str], cosine: float, cfg: dict) -> tuple[str, float] | None:
    if img.pdq and pdqs:
        distance = min(_pdq_distance(img.pdq, p) for p in pdqs)
        if distance <= cfg["LINK_PDQ_MAX_DISTANCE"]:
            return SellerLink.Via.PDQ, 1.0 - distance / 256.0
    if cosine >= cfg["LINK_MIN_COSINE"]:
        return SellerLink.Via.VECTOR, cosine
    return None


def _unit_rows(vectors: list) -> np.ndarray:
    matrix = np.stack(vectors).astype(np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _vector_similarities(images: list, source_vectors: list) -> dict[int, float]:
    """Best cosine of each candidate image against the counterfeit's images, in one matrix product."""
    if not source_vectors:
        return {}
    dim = source_vectors[0].shape[0]
    rows = [(img.pk, np.frombuffer(bytes(img.vector), dtype=np.float32)) for img in images if img.vector]
    rows = [(pk, vector) for pk, vector in rows if vector.shape[0] == dim]
    if not rows:
        return {}
    sources = _unit_rows([v for v in source_vectors if v.shape[0] == dim])
    best = (_unit_rows([vector for _, vector in rows]) @ sources.T).max(axis=1)
    return {pk: float(sim) for (pk, _), sim in zip(rows, best, strict=True)}


# --- Repeat-infringer policy ---

def active_strikes(seller, now=None) -> int:
    now = now or timezone.now()
    reversed_ids = _reversed_ids(seller)
    times = [t for pk, t in TrustEvent.objects.filter(seller=seller, kind__in=STRIKE_KINDS).values_list("pk", "occurred_at")
             if pk not in reversed_ids]
    return strikes_in_window(times, now, settings.TRUST["REPEAT_WINDOW_DAYS"])


def check_repeat_infringer(seller, *, acting_user=None) -> RestrictionReview | None:
    """N confirmed takedowns in the window open a restriction review (once; none while restricted or open)."""
    cfg = settings.TRUST
    strikes = active_strikes(seller)
    if strikes < cfg["REPEAT_STRIKES"] or seller.restricted:
        return None
    if RestrictionReview.objects.filter(seller=seller, state=RestrictionReview.State.OPEN).exists():
        return None
    return open_restriction_review(seller, strikes=strikes, acting_user=acting_user)


@transaction.atomic
def open_restriction_review(seller, *, strikes: int, acting_user=None) -> RestrictionReview:

    window = settings.TRUST["REPEAT_WINDOW_DAYS"]
    review = RestrictionReview.objects.create(seller=seller, strikes=strikes, window_days=window)
    audit.record("restriction.review_open", review, actor=acting_user, after={"strikes": strikes, "window_days": window})
    notify_seller(seller, "restriction_review", acting_user=acting_user,
                  context={"strikes": strikes, "window_days": window})
    notify_leads("review_to_decide", acting_user=acting_user,
                 context={"review": review, "strikes": strikes, "window_days": window})
    return review


def _lock_review(review_id: int, acting_user, state: str) -> RestrictionReview:
    if not is_lead(acting_user):
        raise NotALead("only a lead can decide a restriction")
    review = RestrictionReview.objects.select_for_update().select_related("seller").get(pk=review_id)
    if review.state != state:
        raise ValueError(f"restriction review #{review.pk} is {review.get_state_display().lower()}")
    return review


@transaction.atomic
def decide_restriction(review_id: int, *, acting_user, restrict: bool, note: str = "") -> RestrictionReview:
    """A lead restricts the seller (new listings are blocked) or declines. Notified, audited, POSTed to webhooks."""

    review = _lock_review(review_id, acting_user, RestrictionReview.State.OPEN)
    seller = review.seller
    review.state = RestrictionReview.State.RESTRICTED if restrict else RestrictionReview.State.DECLINED
    review.decided_by, review.decided_at, review.note = acting_user, timezone.now(), note
    review.save(update_fields=["state", "decided_by", "decided_at", "note"])
    audit.record("restriction.decide", review, actor=acting_user, before={"state": "open"},
                 after={"state": review.state, "note": note})
    if restrict:
        _set_restricted(seller, True)
        notify_seller(seller, "restriction", acting_user=acting_user, context={"review": review, "note": note})
        send_webhooks("seller.restricted", seller=seller, extra={"strikes": review.strikes})
    else:
        notify_seller(seller, "restriction_lifted", acting_user=acting_user,
                      context={"review": review, "note": note, "declined": True})
    return review


@transaction.atomic
def lift_restriction(review_id: int, *, acting_user, note: str = "") -> RestrictionReview:

    review = _lock_review(review_id, acting_user, RestrictionReview.State.RESTRICTED)
    review.state, review.lifted_by, review.lifted_at = RestrictionReview.State.LIFTED, acting_user, timezone.now()
    review.note = f"{review.note}\n{note}".strip()
    review.save(update_fields=["state", "lifted_by", "lifted_at", "note"])
    audit.record("restriction.lift", review, actor=acting_user, before={"state": "restricted"}, after={"state": "lifted"})
    _set_restricted(review.seller, False)
    notify_seller(review.seller, "restriction_lifted", acting_user=acting_user, context={"review": review, "note": note})
    send_webhooks("seller.restriction_lifted", seller=review.seller)
    return review


def _set_restricted(seller, value: bool) -> None:
    type(seller).objects.filter(pk=seller.pk).update(restricted=value)
    seller.restricted = value

"""Trust rating in the system: severity, recompute == incremental, reinstatement, review thresholds by tier,
the repeat-infringer policy (review → restriction → API refusal → lift) and linked sellers."""
import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.policy import review_threshold_for
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import RestrictionReview, SellerLink, TrustEvent
from tests.factories import jpeg_bytes, scanned_listing
from tests.support import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def take_down(listing, moderator, reason="counterfeit"):
    return actions.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator, reason_code=reason)


def rating(seller_key: str) -> int:
    return Seller.objects.get(seller_key=seller_key).trust_rating


def test_severity_of_the_reason_code_weighs_the_strike(acme, staff):
    brand, ref = acme
    a = scanned_listing("L-a", "S-a", score=0.95, brand=brand, ref=ref)
    b = scanned_listing("L-b", "S-b", score=0.95, brand=brand, ref=ref)
    assert rating("S-a") == rating("S-b")
    b.images.update(pdq="", vector=None)  # no image link between the two sellers
    take_down(a, staff[0], "counterfeit")
    take_down(b, staff[0], "unauthorized_images")
    assert rating("S-a") < rating("S-b") < 750
    assert TrustEvent.objects.get(seller__seller_key="S-a", kind="takedown").bad == 3.0
    assert TrustEvent.objects.get(seller__seller_key="S-b", kind="takedown").bad == 1.5


def test_reinstatement_restores_exactly_and_recompute_equals_incremental(acme, staff):
    brand, ref = acme
    moderator, lead = staff
    fake = scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=ref)
    other = scanned_listing("L-2", "S-1", score=0.9, brand=brand, ref=ref)
    other.images.update(pdq="", vector=None)  # a picture of its own: no link from this one
    twin = scanned_listing("L-twin", "S-2", score=0.2)  # same image hash as L-1 (factory): gets linked
    trust_actions.record_clean_sales(fake.seller, 300)
    before_takedown, twin_before = rating("S-1"), rating("S-2")
    decision = take_down(fake, moderator)
    trust_actions.link_sellers_for_decision(decision.pk)  # what the queued workers.trust.link_sellers task runs
    take_down(other, moderator, "trademark_misuse")
    assert rating("S-1") < before_takedown and rating("S-2") == twin_before  # a suggested link is no strike
    link = SellerLink.objects.get(listing=twin, source_listing=fake)
    trust_actions.decide_seller_link(link.pk, acting_user=moderator, confirm=True)
    assert rating("S-2") < twin_before
    appeal = actions.file_appeal(decision, seller=fake.seller, statement="I bought these from the brand; invoice attached.")
    with pytest.raises(PermissionError):
        actions.decide_appeal(appeal.pk, acting_user=moderator, reinstate=True)  # the original decider
    actions.decide_appeal(appeal.pk, acting_user=lead, reinstate=True)
    assert Listing.objects.get(pk=fake.pk).status == Listing.Status.REINSTATED
    assert rating("S-2") == twin_before  # the link came from a listing that was not counterfeit after all
    assert not SellerLink.objects.filter(source_listing=fake).exists()
    # Only the second strike remains: equal to a history with that strike alone.
    incremental = {s.seller_key: (s.trust_rating, s.trust_tier) for s in Seller.objects.all()}
    Seller.objects.update(trust_rating=0, trust_tier="")
    call_command("recompute_trust")
    assert {s.seller_key: (s.trust_rating, s.trust_tier) for s in Seller.objects.all()} == incremental
    strike = TrustEvent.objects.get(seller__seller_key="S-1", kind="takedown", decision=decision)
    assert strike.reversed_by.get().kind == TrustEvent.Kind.REINSTATED


def test_reinstating_the_only_strike_gives_back_the_exact_rating(acme, staff):
    brand, ref = acme
    fake = scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=ref)
    before = rating("S-1")
    decision = take_down(fake, staff[0])
    assert rating("S-1") < before
    appeal = actions.file_appeal(decision, seller=fake.seller, statement="Genuine, bought from the brand's outlet.")
    actions.decide_appeal(appeal.pk, acting_user=staff[1], reinstate=True)
    assert rating("S-1") == before


def test_review_threshold_follows_the_tier_but_never_hides_a_strong_match(acme, staff):
    brand, ref = acme
    good = scanned_listing("L-g", "S-good", score=0.1)
    trust_actions.record_clean_sales(good.seller, 5000)
    assert Seller.objects.get(seller_key="S-good").trust_tier == "excellent"
    bad = scanned_listing("L-b1", "S-bad", score=0.1)
    for i in range(3):
        take_down(scanned_listing(f"L-bad{i}", "S-bad", score=0.95, brand=brand, ref=ref), staff[0])
    assert Seller.objects.get(seller_key="S-bad").trust_tier in {"poor", "restricted"}
    new = scanned_listing("L-new", "S-new", score=0.1)
    base = review_threshold_for(new)
    assert review_threshold_for(Listing.objects.get(pk=bad.pk)) < base < review_threshold_for(
        Listing.objects.get(pk=good.pk)) <= 0.8
    # A middling score goes to review for the poor seller only; a strong match goes to review for everyone.
    assert scanned_listing("L-mid-bad", "S-bad", score=base - 0.02).status == Listing.Status.IN_REVIEW
    assert scanned_listing("L-mid-good", "S-good", score=base + 0.02).status == Listing.Status.CLEAR
    assert scanned_listing("L-strong-good", "S-good", score=0.9).status == Listing.Status.IN_REVIEW


def test_scan_input_carries_the_current_rating(acme, staff):
    from anticounterfeit.detection.scanning import listing_input

    brand, ref = acme
    take_down(scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=ref), staff[0])
    later = scanned_listing("L-later", "S-1", score=0.1)
    assert listing_input(later).seller.trust_rating == float(rating("S-1"))


def post_listing(api, listing_id, seller_id="S-rep"):
    import base64

    return api.post("/api/v1/listings", {
        "listing_id": listing_id, "seller_id": seller_id, "title": "Sneakers", "price": "20.00",
        "images": [{"filename": "a.jpg", "content_base64": base64.b64encode(jpeg_bytes()).decode()}],
    }, format="json")


def test_repeat_infringer_review_restriction_blocks_api_and_lift(acme, staff, api, settings):
    brand, ref = acme
    moderator, lead = staff
    settings.TRUST = {**settings.TRUST, "REPEAT_STRIKES": 3, "REPEAT_WINDOW_DAYS": 90}
    market = MarketplaceClient.objects.get(name="Market A")  # the seller is this marketplace's (ids are per tenant)
    for i in range(2):
        take_down(scanned_listing(f"L-{i}", "S-rep", score=0.95, brand=brand, ref=ref, client=market), moderator)
    assert not RestrictionReview.objects.exists()  # two strikes: below the policy
    take_down(scanned_listing("L-2", "S-rep", score=0.95, brand=brand, ref=ref, client=market), moderator)
    review = RestrictionReview.objects.get(seller__seller_key="S-rep")
    assert review.state == "open" and review.strikes == 3 and review.window_days == 90
    assert Notification.objects.filter(seller=review.seller, kind="restriction_review").count() == 1
    assert AuditEvent.objects.filter(action="restriction.review_open", object_id=str(review.pk)).count() == 1
    take_down(scanned_listing("L-3", "S-rep", score=0.95, brand=brand, ref=ref, client=market), moderator)
    assert RestrictionReview.objects.filter(seller__seller_key="S-rep").count() == 1  # one open review, not two

    assert post_listing(api, "L-ok").status_code == 201  # under review: not yet restricted
    with pytest.raises(trust_actions.NotALead):
        trust_actions.decide_restriction(review.pk, acting_user=moderator, restrict=True)
    trust_actions.decide_restriction(review.pk, acting_user=lead, restrict=True, note="four fakes in a week")
    assert Seller.objects.get(seller_key="S-rep").restricted
    assert Notification.objects.filter(seller=review.seller, kind="restriction").count() == 1
    refused = post_listing(api, "L-blocked")
    assert refused.status_code == 400
    assert "restricted" in refused.json()["seller_id"][0] and "lead" in refused.json()["seller_id"][0]
    assert not Listing.objects.filter(listing_key="L-blocked").exists()

    trust_actions.lift_restriction(review.pk, acting_user=lead, note="brand confirmed supply chain")
    assert not Seller.objects.get(seller_key="S-rep").restricted
    assert post_listing(api, "L-again").status_code == 201
    assert [e.action for e in AuditEvent.objects.filter(object_type="trust.restrictionreview").order_by("id")] == [
        "restriction.review_open", "restriction.decide", "restriction.lift"]
    kinds = list(Notification.objects.filter(seller=review.seller).values_list("kind", flat=True))
    assert {"restriction_review", "restriction", "restriction_lifted"} <= set(kinds)


def test_reinstated_strikes_do_not_count_towards_the_policy(acme, staff, settings):
    brand, ref = acme
    settings.TRUST = {**settings.TRUST, "REPEAT_STRIKES": 2}
    decision = take_down(scanned_listing("L-0", "S-x", score=0.95, brand=brand, ref=ref), staff[0])
    appeal = actions.file_appeal(decision, seller=decision.case.listing.seller, statement="Authorized reseller, see letter.")
    actions.decide_appeal(appeal.pk, acting_user=staff[1], reinstate=True)
    take_down(scanned_listing("L-1", "S-x", score=0.95, brand=brand, ref=ref), staff[0])
    assert trust_actions.active_strikes(Seller.objects.get(seller_key="S-x")) == 1
    assert not RestrictionReview.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_linked_sellers_are_shown_on_the_seller_card_and_lower_the_rating_once_confirmed(
        acme, staff, make_user, client, celery_worker_real):
    brand, ref = acme
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=brand, ref=ref)
    twin = scanned_listing("L-twin", "S-2", score=0.2, title="Sneakers")  # the factory gives both the same image hash
    stranger = scanned_listing("L-own", "S-3", score=0.2)
    stranger.images.update(pdq="0f" * 32, vector=None)  # a different picture
    before = rating("S-2")
    take_down(fake, staff[0])  # linking is queued on commit and done by the worker
    link = wait_for(lambda: SellerLink.objects.first(), timeout=60, message="seller link made by the worker")
    assert (link.seller.seller_key, link.listing, link.linked_seller.seller_key, link.source_listing) == (
        "S-2", twin, "S-1", fake)
    assert link.via == "pdq" and link.similarity == 1.0 and link.state == "suggested"
    assert rating("S-2") == before and not TrustEvent.objects.filter(kind="linked_seller").exists()  # evidence only
    html = render_to_string("trust/_seller_links.html", {"seller": link.seller})
    assert "S-1" in html and "L-twin" in html and "L-fake" in html and "Confirm link" in html
    assert render_to_string("trust/_seller_links.html", {"seller": stranger.seller}).strip() == ""
    # A moderator confirms the link from the case page: now it counts, once.
    client.force_login(staff[0])
    case = Case.objects.get(listing=fake)
    assert "Confirm link" in client.get(f"/console/cases/{case.pk}/").content.decode()
    answer = client.post(f"/trust/links/{link.pk}/decide/", {"decision": "confirm", "next": f"/console/cases/{case.pk}/"})
    assert answer.status_code == 302
    assert rating("S-2") < before
    assert TrustEvent.objects.filter(seller__seller_key="S-2", kind="linked_seller").count() == 1
    assert AuditEvent.objects.filter(action="seller_link.decide", object_id=str(link.pk)).exists()
    client.logout()
    # The linked seller's own view names no other seller.
    client.force_login(make_user("twin-user", Role.SELLER, seller=twin.seller))
    page = client.get("/seller/").content.decode()
    assert "Shares images with a confirmed counterfeit listing" in page and "S-1" not in page and "L-fake" not in page


def test_vector_match_links_when_the_hash_differs(acme, staff):
    import numpy as np

    brand, ref = acme
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=brand, ref=ref)
    resized = scanned_listing("L-resized", "S-2", score=0.3, brand=brand, ref=ref)
    unrelated = scanned_listing("L-unrelated", "S-3", score=0.3, brand=brand, ref=ref)
    resized.images.update(pdq="0f" * 32, vector=(np.ones(8, dtype=np.float32) * 2 + 0.01).tobytes())
    other = np.zeros(8, dtype=np.float32)
    other[0] = 1.0
    unrelated.images.update(pdq="0f" * 32, vector=other.tobytes())
    trust_actions.link_sellers_for_decision(take_down(fake, staff[0]).pk)
    link = SellerLink.objects.get()
    assert link.listing == resized and link.via == "vector" and link.similarity > 0.99
    assert not SellerLink.objects.filter(seller__seller_key="S-3").exists()


def test_only_a_lead_other_than_the_decider_decides_an_appeal_within_the_window(acme, staff, make_user):
    from datetime import timedelta

    from django.utils import timezone

    from anticounterfeit.moderation.models import Decision

    brand, ref = acme
    moderator, lead = staff
    decision = take_down(scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=ref), moderator)
    appeal = actions.file_appeal(decision, seller=decision.case.listing.seller, statement="Genuine; invoice attached.")
    with pytest.raises(PermissionError, match="only a lead"):
        actions.decide_appeal(appeal.pk, acting_user=make_user("mod2", Role.MODERATOR), reinstate=True)
    actions.decide_appeal(appeal.pk, acting_user=lead, reinstate=False, note="the invoice is for another model")
    assert Listing.objects.get(pk=decision.case.listing_id).status == Listing.Status.REMOVED
    outcome = Notification.objects.get(kind="appeal_outcome")
    assert "upheld" in outcome.body and "another model" in outcome.body

    late = take_down(scanned_listing("L-2", "S-1", score=0.95, brand=brand, ref=ref), moderator)
    Decision.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=15))
    late.refresh_from_db()
    with pytest.raises(ValueError, match="window has closed"):
        actions.file_appeal(late, seller=late.case.listing.seller, statement="Too late, but genuine anyway.")


def test_takedown_queues_linking_on_commit_and_the_task_is_idempotent(acme, staff,
                                                                      django_capture_on_commit_callbacks):
    brand, ref = acme
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=brand, ref=ref)
    scanned_listing("L-twin", "S-2", score=0.2)  # same image hash (factory)
    with django_capture_on_commit_callbacks() as callbacks:
        decision = take_down(fake, staff[0])
    assert callbacks and not SellerLink.objects.exists()  # nothing linked inside the moderator's transaction
    assert trust_actions.link_sellers_for_decision(decision.pk) == 1
    assert trust_actions.link_sellers_for_decision(decision.pk) == 1  # found again, not made twice
    assert SellerLink.objects.count() == 1
    assert not TrustEvent.objects.filter(seller__seller_key="S-2", kind="linked_seller").exists()  # evidence only
    assert trust_actions.link_sellers_for_decision(10**9) == 0  # the decision is gone: nothing to do


def test_linking_after_a_reinstatement_links_nobody(acme, staff):
    brand, ref = acme
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=brand, ref=ref)
    scanned_listing("L-twin", "S-2", score=0.2)
    twin_before = rating("S-2")
    decision = take_down(fake, staff[0])
    appeal = actions.file_appeal(decision, seller=fake.seller, statement="Genuine, bought from the brand itself.")
    actions.decide_appeal(appeal.pk, acting_user=staff[1], reinstate=True)
    assert trust_actions.link_sellers_for_decision(decision.pk) == 0  # the task ran late: the takedown was reversed
    assert not SellerLink.objects.exists() and rating("S-2") == twin_before

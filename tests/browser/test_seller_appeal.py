"""The seller's path in a real browser: read the takedown notice, appeal with an invoice; a lead reinstates in the
console; the seller sees the outcome and the restored rating. And a lead restricting a repeat infringer."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Appeal, Case
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import RestrictionReview
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_appeals_lead_reinstates_seller_sees_restored_rating(live_server, browser, make_user, shot, tmp_path):
    brand = make_brand()
    ref = make_reference(brand)
    fake = scanned_listing("L-fake", "S-1", score=0.96, brand=brand, ref=ref, title="Acme runner, original box")
    scanned_listing("L-mug", "S-1", score=0.05, title="Plain mug")
    seller = fake.seller
    rating_before = seller.trust_rating
    make_user("seller", Role.SELLER, seller=seller)
    make_user("lead", Role.LEAD)
    actions.do_take_down(Case.objects.get(listing=fake).pk, acting_user=make_user("mod", Role.MODERATOR))
    rating_after_strike = Seller.objects.get(pk=seller.pk).trust_rating
    assert rating_after_strike < rating_before
    invoice = tmp_path / "invoice-2026-118.pdf"
    invoice.write_bytes(b"%PDF-1.4\n% Invoice 2026-118 from Acme outlet\n")

    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    login(page, live_server.url, "seller")
    page.wait_for_selector("[data-testid=rating]")
    assert page.inner_text("[data-testid=rating]") == str(rating_after_strike)
    assert page.inner_text("[data-testid=unread]") == "1 unread"
    assert "Confirmed counterfeit takedown" in page.inner_text("[data-testid=contributions]")
    shot(page, "seller_center")

    page.click("#notices a")
    page.wait_for_selector("[data-testid=notice-body]")
    body = page.inner_text("[data-testid=notice-body]")
    assert "L-fake" in body and "Acme" in body and "Counterfeit product" in body and "appeal until" in body
    page.fill("#id_statement", "I bought this pair from the Acme outlet; the invoice is attached.")
    page.set_input_files("#id_evidence", str(invoice))
    shot(page, "seller_notice")
    page.click("button:has-text('File appeal')")
    page.wait_for_selector("[data-testid=appeal-status]")
    assert page.inner_text("[data-testid=appeal-status]") == "Open"
    assert "invoice-2026-118" in page.inner_text("[data-testid=appeal-evidence]")
    shot(page, "seller_appeal_filed")
    appeal = Appeal.objects.get(seller=seller)
    assert appeal.evidence.read().startswith(b"%PDF")

    lead = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    login(lead, live_server.url, "lead")
    lead.goto(f"{live_server.url}/console/appeals/{appeal.pk}/")
    lead.wait_for_selector("[data-testid=statement]")
    assert "Acme outlet" in lead.inner_text("[data-testid=statement]")
    lead.click("button[value=reinstate]")
    lead.wait_for_load_state()
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.REINSTATED
    assert Listing.objects.get(pk=fake.pk).status == Listing.Status.REINSTATED

    page.reload()
    assert page.inner_text("[data-testid=appeal-status]") == "Listing reinstated"
    page.goto(f"{live_server.url}/seller/")
    page.wait_for_selector("[data-testid=rating]")
    assert page.inner_text("[data-testid=rating]") == str(rating_before)  # the strike is gone
    assert page.inner_text("[data-testid=status-L-fake]") == "Reinstated"
    assert "Confirmed counterfeit takedown reversed" in page.inner_text("[data-testid=trust-history]")
    assert "reinstated" in page.inner_text("#notices").lower()
    shot(page, "seller_restored")
    page.click("#notices tr.unread a")
    page.wait_for_selector("[data-testid=notice-body]")
    assert str(rating_before) in page.inner_text("[data-testid=notice-body]")
    shot(page, "seller_reinstatement_notice")


def test_lead_restricts_a_repeat_infringer_and_the_seller_sees_it(live_server, browser, make_user, shot):
    brand = make_brand()
    ref = make_reference(brand)
    moderator = make_user("mod", Role.MODERATOR)
    for i in range(3):
        actions.do_take_down(Case.objects.get(listing=scanned_listing(f"L-{i}", "S-rep", score=0.95, brand=brand,
                                                                      ref=ref)).pk, acting_user=moderator)
    review = RestrictionReview.objects.get(seller__seller_key="S-rep")
    lead_user = make_user("lead", Role.LEAD)
    make_user("rep", Role.SELLER, seller=review.seller)

    lead = browser.new_context(viewport={"width": 1280, "height": 760}).new_page()
    login(lead, live_server.url, "lead")
    lead.goto(f"{live_server.url}/trust/restrictions/")
    lead.wait_for_selector("#open-reviews")
    assert "S-rep" in lead.inner_text("#open-reviews") and "3 in 90 days" in lead.inner_text("#open-reviews")
    shot(lead, "restriction_reviews")
    lead.fill("#open-reviews input[name=note]", "three fakes in a week")
    lead.click("#open-reviews button[value=restrict]")
    lead.wait_for_selector("#restricted tr.row")
    assert "S-rep" in lead.inner_text("#restricted")
    assert Seller.objects.get(seller_key="S-rep").restricted
    shot(lead, "restriction_restricted")

    page = browser.new_context(viewport={"width": 1280, "height": 760}).new_page()
    login(page, live_server.url, "rep")
    page.wait_for_selector("[data-testid=restriction]")
    assert "restricted" in page.inner_text("[data-testid=restriction]")
    shot(page, "seller_restricted")
    trust_actions.lift_restriction(review.pk, acting_user=lead_user)
    page.reload()
    assert page.locator("[data-testid=restriction]").count() == 0

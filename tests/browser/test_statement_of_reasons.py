"""A seller reads the statement of reasons of a takedown in the notice (and finds it in the seller center)."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.compliance.models import StatementOfReasons
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_sees_the_statement_of_reasons_in_the_notice(live_server, browser, make_user, shot):
    brand = make_brand()
    fake = scanned_listing("L-fake", "S-1", score=0.96, brand=brand, ref=make_reference(brand),
                           title="Acme runner, original box")
    make_user("seller", Role.SELLER, seller=fake.seller)
    actions.do_take_down(Case.objects.get(listing=fake).pk, acting_user=make_user("mod", Role.MODERATOR))
    statement = StatementOfReasons.objects.get()

    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(page, live_server.url, "seller")
    page.wait_for_selector("[data-testid=statements]")
    assert statement.puid in page.inner_text("[data-testid=statements]")
    shot(page, "seller_center_statements")
    page.click(f"[data-testid=statements] a:has-text('{statement.puid}')")
    page.wait_for_selector("[data-testid=statement-of-reasons]")
    card = page.inner_text("[data-testid=statement-of-reasons]")
    assert "Illegal content (counterfeit goods)" in card and "Trade mark law" in card
    assert "Automated detection found the listing" in card and "Detection: automated" in card
    assert "appeal this decision free of charge until" in page.inner_text("[data-testid=statement-redress]")
    assert "Statement of reasons (Digital Services Act, Article 17)" in page.inner_text("[data-testid=notice-body]")
    shot(page, "seller_notice_statement")

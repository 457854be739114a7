"""The moderator's path in a real browser: log in, open the top case, take it down, see it leave the queue."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_moderator_takes_down_top_case(live_server, browser, make_user, shot):
    brand = make_brand()
    ref = make_reference(brand)
    top = scanned_listing("L-top", "S-1", score=0.97, brand=brand, ref=ref, title="Acme runner replica AAA")
    scanned_listing("L-second", "S-2", score=0.71, brand=brand, ref=ref, title="Acme runner cheap")
    scanned_listing("L-clear", "S-3", score=0.05, title="Plain mug")
    make_user("mod", Role.MODERATOR)
    assert Case.objects.open().count() == 2

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    login(page, live_server.url, "mod")
    page.wait_for_selector("#queue")
    rows = page.locator("#queue tr.row")
    assert rows.count() == 2
    assert "Acme runner replica AAA" in rows.first.inner_text()  # ordered by score
    shot(page, "queue")

    page.keyboard.press("Enter")  # open the selected (top) case
    page.wait_for_selector("[data-testid=case-title]")
    assert "replica" in page.inner_text("[data-testid=case-title]")
    assert page.locator(".imgbox .region").count() == 0  # a whole-image match has no region to outline
    shot(page, "case")
    page.keyboard.press("t")  # take down with the default reason (counterfeit)

    page.wait_for_selector("[data-testid=case-title]")  # the next case opens
    assert "cheap" in page.inner_text("[data-testid=case-title]")
    top.refresh_from_db()
    assert top.status == Listing.Status.REMOVED
    page.goto(f"{live_server.url}/console/")
    assert "replica AAA" not in page.inner_text("#queue")
    assert page.locator("#queue tr.row").count() == 1
    page.close()

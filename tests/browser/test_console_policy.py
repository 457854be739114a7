"""A lead in a real browser: dismiss with an allow rule (keyboard), then the noisy-references and thresholds pages."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.detection.models import AllowRule
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case, Decision
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_allow_on_dismiss_and_noisy_references(live_server, browser, make_user, shot):
    brand = make_brand()
    ref = make_reference(brand)
    mod = make_user("mod", Role.MODERATOR)
    make_user("lead", Role.LEAD)
    for i in range(3):  # three dismissed matches of the same reference: a noisy one
        listing = scanned_listing(f"N-{i}", f"S-{i}", score=0.8, brand=brand, ref=ref, title=f"Acme runner {i}",
                                  image_color=(30 * i, 60, 60), pdq=f"{i:02x}" * 32)
        case = Case.objects.get(listing=listing)
        actions.claim_case(case.pk, acting_user=mod)
        actions.do_dismiss(case.pk, acting_user=mod)
    top = scanned_listing("L-top", "S-9", score=0.9, brand=brand, ref=ref, title="Acme runner, shop stock")
    case = Case.objects.get(listing=top)

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    login(page, live_server.url, "lead")
    page.wait_for_selector("#queue")
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    page.wait_for_selector("#allow-scope")
    page.select_option("#allow-scope", "seller_reference")
    page.locator("[data-testid=case-title]").click()  # focus off the select so the shortcut reaches the page
    shot(page, "console-case-allow")
    page.keyboard.press("d")
    page.wait_for_selector(".messages li.success")
    assert "Allowed from now on" in page.inner_text(".messages")
    assert Decision.objects.get(case=case).action == Decision.Action.DISMISS
    rule = AllowRule.objects.get()
    assert (rule.scope, rule.seller, rule.reference) == ("seller_reference", top.seller, ref)

    page.click("text=Noisy references")
    page.wait_for_selector("#noisy")
    row = page.locator(f"#noisy tr[data-ref='{ref.ref_key}']")
    assert row.count() == 1 and "4" in row.inner_text() and "Quarantine" in row.inner_text()
    shot(page, "console-noisy")

    page.click("text=Thresholds")
    page.fill("#brand-threshold-form input[name=review_threshold]", "0.7")
    page.fill("#brand-threshold-form input[name=override_reason]", "brand's counterfeits are blatant")
    page.click("#brand-threshold-form button")
    page.wait_for_selector("#brand-overrides")
    assert "Acme" in page.inner_text("#brand-overrides") and "0.7" in page.inner_text("#brand-overrides")
    shot(page, "console-settings-brand")
    page.close()

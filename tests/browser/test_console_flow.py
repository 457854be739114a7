"""The console in headless Chromium: filter, keyboard, reasons, two moderators at once, escalation, appeals, dashboard."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Appeal, Case, Decision
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture
def world(make_user):
    acme, bolt = make_brand("acme", "Acme"), make_brand("bolt", "Bolt")
    ref_a, ref_b = make_reference(acme, "ref-a"), make_reference(bolt, "ref-b", msrp=300)
    first = scanned_listing("L-a1", "S-1", score=0.96, brand=acme, ref=ref_a, title="Acme runner 1:1 replica",
                            description="Same factory as the original, AAA quality copy.")
    second = scanned_listing("L-a2", "S-2", score=0.74, brand=acme, ref=ref_a, title="Acme runner", image_color=(9, 9, 9),
                             pdq="cd" * 32)
    scanned_listing("L-b1", "S-3", score=0.99, brand=bolt, ref=ref_b, title="Bolt watch", image_color=(9, 99, 9),
                    pdq="ef" * 32)
    make_user("mod", Role.MODERATOR)
    make_user("mod2", Role.MODERATOR)
    make_user("lead", Role.LEAD)
    return {"acme": acme, "bolt": bolt, "first": first, "second": second}


def test_filter_keyboard_takedown_with_reason_next_and_history(live_server, browser, world, shot):
    page = browser.new_page(viewport=VIEWPORT)
    login(page, live_server.url, "mod")
    page.wait_for_selector("#queue")
    assert page.locator("#queue tr.row").count() == 3
    page.select_option("select[name=brand]", str(world["acme"].pk))
    page.click("#filters button[type=submit]")
    page.wait_for_url("**brand=*")
    rows = page.locator("#queue tr.row")
    assert rows.count() == 2 and "Bolt" not in page.inner_text("#queue")
    assert "replica" in rows.first.inner_text()  # highest priority first
    shot(page, "console-queue")

    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=case-title]")
    assert "replica" in page.inner_text("[data-testid=case-title]")
    assert page.locator("[data-testid=title-marked] mark.m-brand").count() == 1
    assert page.locator("[data-testid=description-marked] mark.m-evasion").count() >= 2
    page.keyboard.press("?")
    assert page.locator("#help.open").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help.open").is_visible()
    shot(page, "console-case")

    page.select_option("#reason-takedown", "trademark_misuse")
    page.keyboard.press("t")
    page.wait_for_url(f"**/console/cases/{Case.objects.get(listing=world['second']).pk}/")  # the next (filtered) case
    assert page.inner_text("[data-testid=case-title]") == "Acme runner"
    assert "taken down" in page.inner_text(".messages")
    decision = Decision.objects.get(case__listing=world["first"])
    assert (decision.action, decision.reason_code) == ("takedown", "trademark_misuse")
    assert Listing.objects.get(pk=world["first"].pk).status == Listing.Status.REMOVED

    page.keyboard.press("k")  # back to the case just decided: the decision is in its history
    page.wait_for_selector("[data-testid=history]")
    history = page.inner_text("[data-testid=history]")
    assert "Take down" in history and "Trademark misuse in the listing" in history and "case.takedown" in history
    assert page.locator("#decide-form").count() == 0
    consequences = page.inner_text("[data-testid=consequences]")  # what the takedown set off, as it arrives
    assert "Trust rating" in consequences and "Notice to the seller" in consequences
    assert "Counterfeit bank" in consequences
    shot(page, "console-case-consequences")
    page.close()


def test_two_browser_contexts_cannot_both_decide_one_case(live_server, browser, world, shot):
    case = Case.objects.get(listing=world["first"])
    ctx_a, ctx_b = browser.new_context(viewport=VIEWPORT), browser.new_context(viewport=VIEWPORT)
    a, b = ctx_a.new_page(), ctx_b.new_page()
    login(a, live_server.url, "mod")
    login(b, live_server.url, "mod2")
    a.wait_for_selector("#queue")
    b.wait_for_selector("#queue")
    a.goto(f"{live_server.url}/console/cases/{case.pk}/")
    b.goto(f"{live_server.url}/console/cases/{case.pk}/")
    assert a.locator("#decide-form").count() == 1
    assert b.locator("#decide-form").count() == 0 and "being reviewed by mod" in b.inner_text(".messages")
    shot(b, "console-case-locked")
    # B forges the decision with a valid CSRF token from its own session: refused, nothing decided
    token = b.evaluate("() => document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1]")
    b.request.post(f"{live_server.url}/console/cases/{case.pk}/decide/", headers={"X-CSRFToken": token},
                   form={"action": "dismiss", "reason_code": "genuine"})
    assert Case.objects.get(pk=case.pk).state == Case.State.OPEN
    a.keyboard.press("d")
    a.wait_for_selector(".messages")
    assert "dismissed" in a.inner_text(".messages")
    assert list(Decision.objects.filter(case=case).values_list("moderator__username", "action")) == [("mod", "dismiss")]
    # B's j goes to a case B may take, never the decided one
    b.keyboard.press("j")
    b.wait_for_selector("[data-testid=case-title]")
    assert b.url != f"{live_server.url}/console/cases/{case.pk}/" and b.locator("#decide-form").count() == 1
    ctx_a.close()
    ctx_b.close()


def test_escalate_then_lead_decides_bulk_appeal_and_dashboard(live_server, browser, world, make_user, shot):
    case = Case.objects.get(listing=world["second"])
    mod = browser.new_context(viewport=VIEWPORT).new_page()
    login(mod, live_server.url, "mod")
    mod.wait_for_selector("#queue")
    mod.goto(f"{live_server.url}/console/cases/{case.pk}/")
    mod.fill("textarea[name=note]", "could be a parallel import")
    mod.click("body")  # leave the textarea so the shortcut is not typed into it
    mod.keyboard.press("e")
    mod.wait_for_selector(".messages")
    assert Case.objects.get(pk=case.pk).state == Case.State.ESCALATED

    lead = browser.new_context(viewport=VIEWPORT).new_page()
    login(lead, live_server.url, "lead")
    lead.wait_for_selector("#escalations")
    assert "Acme runner" in lead.inner_text("#escalations")
    shot(lead, "console-queue-lead")
    lead.keyboard.press("n")  # a lead's next case is the escalation
    lead.wait_for_selector("[data-testid=case-title]")
    assert lead.url.endswith(f"/console/cases/{case.pk}/")
    assert "could be a parallel import" in lead.inner_text("[data-testid=history]")
    lead.select_option("#reason-takedown", "counterfeit")
    lead.keyboard.press("t")
    lead.wait_for_selector(".messages")
    assert Case.objects.get(pk=case.pk).state == Case.State.DECIDED

    # bulk: the first listing's seller has a second open case; confirm shows the count
    scanned_listing("L-a3", "S-1", score=0.8, brand=world["acme"], title="Acme runner v2", image_color=(1, 1, 200),
                    pdq="77" * 32)
    first_case = Case.objects.get(listing=world["first"])
    lead.goto(f"{live_server.url}/console/cases/{first_case.pk}/")
    lead.click("#bulk-seller-takedown")
    lead.wait_for_selector("[data-testid=bulk-count]")
    assert lead.inner_text("[data-testid=bulk-count]") == "2"
    shot(lead, "console-bulk")
    lead.click("#bulk-form button[type=submit]")
    lead.wait_for_selector(".messages")
    assert "2 cases taken down" in lead.inner_text(".messages")

    # appeal against the lead's own takedown: the lead sees it but cannot decide it
    decision = Decision.objects.get(case=case, action="takedown")
    appeal = actions.file_appeal(decision, seller=world["second"].seller, statement="Bought at the Acme outlet.")
    lead.goto(f"{live_server.url}/console/appeals/{appeal.pk}/")
    assert lead.locator("[data-testid=own-decision]").is_visible()
    make_user("lead2", Role.LEAD)
    other = browser.new_context(viewport=VIEWPORT).new_page()
    login(other, live_server.url, "lead2")
    other.wait_for_selector("#queue")
    other.goto(f"{live_server.url}/console/appeals/{appeal.pk}/")
    assert "Bought at the Acme outlet." in other.inner_text("[data-testid=statement]")
    shot(other, "console-appeal")
    other.click("button[value=uphold]")
    other.wait_for_selector("#appeals")
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.UPHELD

    other.goto(f"{live_server.url}/console/dashboard/")
    assert other.locator("svg.chart").count() == 4
    assert other.locator("svg.chart rect").count() > 4
    assert other.inner_text("[data-testid=decided-total]") == "3"
    assert other.inner_text("[data-testid=takedown-rate]") == "100%"
    shot(other, "console-dashboard")
    other.goto(f"{live_server.url}/console/settings/")
    other.fill("input[name=review_threshold]", "0.45")
    other.fill("#policy-form input[name=override_reason]", "queue too long this week")
    other.click("#policy-form button[type=submit]")
    other.wait_for_selector(".messages")
    assert "0.45" in other.inner_text("#policy-changes")
    shot(other, "console-settings")

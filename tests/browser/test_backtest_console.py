"""A lead backtests a brand threshold in the console, reads the figures and the chart, and activates it."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.models import Backtest, BrandPolicy
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_runs_a_backtest_sees_the_chart_and_activates_it(live_server, browser, make_user, shot):
    brand = make_brand()
    ref = make_reference(brand)
    moderator = make_user("mod", Role.MODERATOR)
    for n, (score, counterfeit) in enumerate([(0.95, True), (0.55, True), (0.62, False), (0.58, False)]):
        case = Case.objects.get(listing=scanned_listing(f"H-{n}", f"S-{n}", score=score, brand=brand, ref=ref))
        if counterfeit:
            actions.do_take_down(case.pk, acting_user=moderator)
        else:
            actions.do_dismiss(case.pk, acting_user=moderator)
    make_user("lead", Role.LEAD)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, live_server.url, "lead")
    page.click("nav >> text=Backtests")
    page.select_option("select[name=kind]", "brand_threshold")
    page.fill("#id_threshold", "0.8")
    page.select_option("select[name=brand]", brand.brand_key)
    page.fill("#id_days", "7")
    page.click("#backtest-form button[type=submit]")
    page.wait_for_selector("[data-testid=backtest-figures]")
    assert "100%" in page.inner_text("[data-testid=figures-candidate]")
    assert page.locator("[data-testid=chart-per-day] svg.chart rect").count() >= 2
    assert "H-1" in page.inner_text("[data-testid=changed]")
    shot(page, "backtest_result")
    page.click("[data-testid=changed] a:has-text('H-1')")
    page.wait_for_url("**/console/cases/**")
    page.go_back()
    page.click("#activate")
    page.wait_for_selector(".messages")
    assert "based on backtest" in page.inner_text(".messages")
    shot(page, "backtest_activated")
    backtest = Backtest.objects.get()
    assert backtest.activated_at is not None and BrandPolicy.objects.get(brand=brand).review_threshold == 0.8
    assert AuditEvent.objects.get(action="detection.change_activated").after["backtest"] == backtest.pk

"""The demo's history in a real browser: `manage.py demo` (a short history, the same code path as `./run demo`)
builds the past on the test database, then every role's main pages are opened, screenshotted into
tests/artifacts/demo/ and checked for content: charts have bars, queues have rows, the seller has a rating history,
and the appeal queue, the restriction reviews and the webhook log have entries.
"""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.management.commands.demo import DEMO_PASSWORD
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.moderation.models import Decision
from anticounterfeit.notifications.models import WebhookDelivery
from anticounterfeit.trust.models import TrustEvent
from tests.support import ARTIFACTS

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = ARTIFACTS / "demo"


def visit(page, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def count(page, selector: str) -> int:
    return page.locator(selector).count()


def bars(page, chart_label: str) -> int:
    """Bars drawn with a height (or width) above zero in the chart with this accessible label."""
    return page.evaluate("""label => [...document.querySelectorAll(`svg[aria-label="${label}"] rect`)]
        .filter(r => r.querySelector('title') && +(r.getAttribute('height')) > 0 && +(r.getAttribute('width')) > 0)
        .length""", chart_label)


def test_demo_history_fills_every_roles_pages(live_server, browser, settings, tmp_path):
    settings.EMBEDDED_MODE = True  # the demo's mode: its consequences run on the in-process task thread
    # A short history: a brand earns self-service removal with 3 decided reports, two strikes open a review.
    settings.BRAND_SELF_SERVICE = {**settings.BRAND_SELF_SERVICE, "MIN_DECIDED_REPORTS": 3}
    settings.TRUST = {**settings.TRUST, "REPEAT_STRIKES": 2}
    started = timezone.now()
    call_command("demo", days=14, listings=30, brands=3, seed=7, out=str(tmp_path / "bundle"))
    # The past is dated in the past: auto_now_add fields, timezone.now() and the worker-side consequences all
    # followed the replay's clock (on the task thread too: the deliveries are dated like their decisions).
    decided_at = list(Decision.objects.values_list("created_at", flat=True))
    assert len({at.date() for at in decided_at}) >= 4 and min(decided_at) < started - timedelta(days=5)
    assert AuditEvent.objects.filter(action="case.takedown", created_at__lt=started - timedelta(days=2)).exists()
    assert TrustEvent.objects.filter(kind="takedown", occurred_at__lt=started - timedelta(days=2)).exists()
    assert WebhookDelivery.objects.filter(status="delivered", delivered_at__lt=started - timedelta(days=1)).exists()

    base = live_server.url
    page = browser.new_page(viewport={"width": 1360, "height": 900})

    login(page, base, "moderator", DEMO_PASSWORD)
    page.wait_for_selector("#queue")
    visit(page, base, "/console/", "moderator-queue")
    assert count(page, "#queue tr.row") >= 1, "the demo leaves open cases for the moderator"
    page.locator("#queue tr.row a").first.click()
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "moderator-case.png"), full_page=True)

    page.context.clear_cookies()
    login(page, base, "lead", DEMO_PASSWORD)
    visit(page, base, "/console/dashboard/", "lead-dashboard")
    assert bars(page, "Cases opened and decided per day") >= 5
    assert bars(page, "Top brands by takedowns") >= 1
    assert bars(page, "Top sellers by takedowns") >= 1
    visit(page, base, "/console/appeals/", "lead-appeals")
    assert count(page, "#appeals tr.row") >= 1, "an appeal waits for the lead"
    visit(page, base, "/trust/restrictions/", "lead-restrictions")
    assert count(page, "#open-reviews tr.row") >= 1, "a seller is under a restriction review"

    page.context.clear_cookies()
    login(page, base, "brand", DEMO_PASSWORD)
    visit(page, base, "/brand/", "brand-portal")
    assert "Granted" in page.locator("#accuracy").inner_text(), "the demo's brand has earned self-service removal"
    assert page.evaluate("[...document.querySelectorAll('svg[role=img] rect')].filter(r => +r.getAttribute('height') > 0 "
                         "&& r.querySelector('title')).length") >= 3, "the weekly charts have bars"
    visit(page, base, "/brand/reports/", "brand-reports")
    visit(page, base, "/brand/removals/", "brand-removals")

    page.context.clear_cookies()
    login(page, base, "seller", DEMO_PASSWORD)
    visit(page, base, "/seller/", "seller-center")
    assert count(page, "[data-testid=trust-history] tr") >= 3, "the seller has a rating history"
    page.locator("a[href*='/seller/notices/']").first.click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / "seller-notice.png"), full_page=True)
    assert page.locator("[data-testid=notice-subject]").inner_text().strip()

    page.context.clear_cookies()
    login(page, base, "marketplace", DEMO_PASSWORD)
    visit(page, base, f"/webhooks/{MarketplaceClient.objects.get(name='Demo marketplace').pk}/", "marketplace-webhooks")
    statuses = page.eval_on_selector_all("#deliveries tr.row", "rows => rows.map(r => r.dataset.status)")
    assert "delivered" in statuses
    assert {"failed", "abandoned"} & set(statuses), f"no failed delivery in the log: {statuses}"

    page.context.clear_cookies()
    login(page, base, "admin", DEMO_PASSWORD)
    visit(page, base, "/console/", "admin-queue")
    assert count(page, "#queue tr.row") >= 1

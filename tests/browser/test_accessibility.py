"""axe-core (npm, injected through Playwright) on every page of every role: no WCAG 2 A/AA violation.

Each role's pages are found by following the links its pages show, from the page its login lands on, so a new
page is checked without editing this test. A screenshot of each page goes to tests/artifacts/a11y/.
"""
import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog import actions as catalog_actions
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.actions import send_webhooks
from anticounterfeit.notifications.models import WebhookDelivery
from anticounterfeit.trust import actions as trust_actions
from tests.factories import jpeg_bytes, make_brand, make_reference, scanned_listing
from tests.support import ARTIFACTS

from .pages import axe_violations, describe_violations, login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MAX_PAGES = 60  # per role; the crawl fails if it would need more (then raise this)
# Links that change state or are not pages: a crawl only reads.
SKIP = re.compile(r"/(logout|admin|media|api|static)/|/(delete|decide|claim|retry|secret|quarantine|reverse|url)/$"
                  r"|\.csv$|/counters/$|/lease/$")
ROLES = ["moderator", "lead", "admin", "brand_owner", "seller", "api_client"]


def world(make_user) -> None:
    """Something on every page: open and decided cases, an appeal, a brand report, a restriction review,
    notices for each party, and webhook deliveries."""
    brand = make_brand()
    ref = make_reference(brand)
    make_reference(brand, "ref-2")
    moderator = make_user("moderator", Role.MODERATOR)
    lead = make_user("lead", Role.LEAD)
    make_user("admin", Role.ADMIN)
    owner = make_user("brand_owner", Role.BRAND_OWNER, brands=[brand])
    scanned_listing("L-open", "S-1", score=0.97, brand=brand, ref=ref, title="Acme runner replica AAA",
                    description="1:1 Acme quality", image_color=(40, 120, 200), pdq="cd" * 32)
    scanned_listing("L-mid", "S-2", score=0.66, brand=brand, ref=ref, title="Acme sneaker lookalike",
                    images=[jpeg_bytes((90, 160, 60)), jpeg_bytes((200, 200, 40))])
    scanned_listing("L-mid-2", "S-2", score=0.64, brand=brand, ref=ref, title="Acme sneaker lookalike 2",
                    image_color=(120, 60, 160), pdq="ef" * 32)  # a second open case: the bulk page is linked
    fakes = [scanned_listing(f"L-fake-{n}", "S-1", score=0.95, brand=brand, ref=ref, title=f"Acme fake {n}")
             for n in range(3)]
    decisions = [actions.do_take_down(Case.objects.get(listing=f).pk, acting_user=moderator) for f in fakes]
    seller = fakes[0].seller
    make_user("seller", Role.SELLER, seller=seller)
    actions.file_appeal(decisions[0], seller=seller, statement="Bought from the Acme outlet; invoice attached.")
    escalated = scanned_listing("L-esc", "S-3", score=0.88, brand=brand, ref=ref, title="Acme jacket")
    actions.do_escalate(Case.objects.get(listing=escalated).pk, acting_user=moderator, note="unsure")
    reported = scanned_listing("L-rep", "S-4", score=0.7, brand=brand, ref=ref, title="Acme cap")
    catalog_actions.report_listing(reported, brand, acting_user=owner, reason_code="counterfeit", note="fake cap")
    actions.do_take_down(Case.objects.get(listing=reported).pk, acting_user=lead)
    market = MarketplaceClient.objects.create(name="Market North", user=make_user("api_client", Role.API_CLIENT),
                                              webhook_url="https://north.example/hooks/ac")
    type(fakes[1]).objects.filter(pk=fakes[1].pk).update(client=market)
    fakes[1].refresh_from_db()
    ok, lost = (send_webhooks("listing.removed", listing=fakes[1], seller=seller)[0] for _ in range(2))
    WebhookDelivery.objects.filter(pk=ok.pk).update(status="delivered", attempts=1, delivered_at=timezone.now())
    WebhookDelivery.objects.filter(pk=lost.pk).update(status="abandoned", attempts=12, last_status_code=502,
                                                      last_error="HTTP 502: bad gateway")
    if not trust_actions.RestrictionReview.objects.filter(seller=seller).exists():
        trust_actions.open_restriction_review(seller, strikes=3)


def slug(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"[^a-z0-9]+", "-", (parts.path + "-" + parts.query).lower()).strip("-") or "home"


def crawl(page, base: str, start: str) -> list[str]:
    """Same-site page URLs reachable by links from ``start`` (one per path), visiting each once."""
    seen, queue, pages = set(), [start], []
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen or SKIP.search(path) or not url.startswith(base):
            continue
        seen.add(path)
        response = page.goto(url)
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        if urlsplit(page.url).path != path:  # redirected (e.g. "next case"): count the page it landed on once
            if urlsplit(page.url).path in seen:
                continue
            seen.add(urlsplit(page.url).path)
        pages.append(page.url)
        assert len(pages) <= MAX_PAGES, f"more than {MAX_PAGES} pages: {pages}"
        yield page.url
        queue += [href.split("#")[0] for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")]


def check(page, name: str, failures: dict) -> None:
    page.wait_for_load_state("networkidle")
    (ARTIFACTS / "a11y").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "a11y" / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    if violations:
        failures[name] = describe_violations(violations)


def test_login_page_has_no_violations(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/login/")
    failures = {}
    check(page, "anonymous-login", failures)
    assert not failures, "\n".join(f"{k}:\n{v}" for k, v in failures.items())


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_has_no_violations(role, live_server, browser, make_user):
    world(make_user)
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    login(page, live_server.url, role)
    page.wait_for_load_state("networkidle")
    failures, visited = {}, []
    for url in crawl(page, live_server.url, page.url):
        visited.append(urlsplit(url).path)
        check(page, f"{role}-{slug(url)}", failures)
    print(f"{role}: {len(visited)} pages: {visited}")
    assert visited, "the login landed on no page"
    assert not failures, "\n".join(f"{k}:\n{v}" for k, v in failures.items())

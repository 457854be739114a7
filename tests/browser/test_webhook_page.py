"""A lead in a real browser: the inbox notice about a restriction review, then a marketplace client's webhook page
(delivery log with an abandoned delivery, masked secret, reveal shown once, an internal URL refused, rotation with a
grace period), and the notice e-mails that did not go out, one sent again by hand."""
import pytest
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.notifications import webhooks
from anticounterfeit.notifications.actions import send_webhooks
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from anticounterfeit.trust import actions as trust_actions
from tests.factories import scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_reads_review_notice_and_manages_a_clients_webhooks(live_server, browser, make_user, shot):
    lead = make_user("lead", Role.LEAD)
    market = MarketplaceClient.objects.create(name="Market North", user=make_user("market", Role.API_CLIENT),
                                              webhook_url="https://north.example/hooks/ac")
    listing = scanned_listing("L-1", "S-1", score=0.9)
    type(listing).objects.filter(pk=listing.pk).update(client=market)
    listing.refresh_from_db()
    ok, lost = (send_webhooks("listing.removed", listing=listing, seller=listing.seller)[0] for _ in range(2))
    WebhookDelivery.objects.filter(pk=ok.pk).update(status="delivered", attempts=1, delivered_at=timezone.now())
    WebhookDelivery.objects.filter(pk=lost.pk).update(status="abandoned", attempts=12, sweeps=3,
                                                      last_status_code=502, last_error="HTTP 502: bad gateway")
    trust_actions.open_restriction_review(listing.seller, strikes=3)

    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    login(page, live_server.url, "lead")
    page.click("header nav a:has-text('Inbox')")
    page.wait_for_selector("#notices")
    assert page.inner_text("[data-testid=unread]") == "1 unread"
    page.click("#notices a")
    page.wait_for_selector("[data-testid=notice-body]")
    assert "S-1" in page.inner_text("[data-testid=notice-subject]")
    shot(page, "lead_review_notice")
    page.click("a:has-text('Open restriction reviews')")
    page.wait_for_selector("#open-reviews")
    assert "S-1" in page.inner_text("#open-reviews")

    page.click("header nav a:has-text('Webhooks')")
    page.click("a:has-text('Market North')")
    page.wait_for_selector("#deliveries")
    secret = webhooks.signing_secret(market)
    assert page.inner_text("[data-testid=secret-masked]") == webhooks.masked(secret)
    assert "HTTP 502: bad gateway" in page.inner_text("#deliveries")
    assert page.locator("tr[data-status=abandoned] button:has-text('Retry now')").count() == 1
    shot(page, "webhook_client_page")
    page.click("button:has-text('Reveal')")
    page.wait_for_selector("[data-testid=secret]")
    assert page.inner_text("[data-testid=secret]") == secret
    shot(page, "webhook_secret_revealed")
    assert AuditEvent.objects.filter(action="webhook.secret_reveal", actor=lead).count() == 1
    page.goto(f"{live_server.url}/webhooks/{market.pk}/")
    page.wait_for_selector("[data-testid=secret-masked]")
    assert page.locator("[data-testid=secret]").count() == 0  # shown once: masked again on the next visit

    # An internal address is refused with an error under the field (no server-side request forgery).
    page.fill("[data-testid=webhook-url]", "https://169.254.169.254/latest/meta-data/")
    page.click("button:has-text('Save')")
    page.wait_for_selector("[data-testid=form-error]")
    assert "169.254.169.254 is a link-local address" in page.inner_text("[data-testid=form-error]")
    shot(page, "webhook_url_refused")
    market.refresh_from_db()
    assert market.webhook_url == "https://north.example/hooks/ac"

    # Rotating: the new secret is shown once, and the page says until when the previous signature is still sent.
    page.goto(f"{live_server.url}/webhooks/{market.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Rotate secret')")
    page.wait_for_selector("[data-testid=grace]")
    market.refresh_from_db()
    assert page.inner_text("[data-testid=secret]") == webhooks.signing_secret(market) != secret
    assert "X-AC-Signature-Previous" in page.content()
    shot(page, "webhook_secret_rotated_grace")

    # Notice e-mails that did not go out: one whose worker died mid-send is sent again by hand.
    for status, subject in (("sending", "Account restricted"), ("gave_up", "Listing removed"), ("sent", "Appeal decided")):
        Notification.objects.create(seller=listing.seller, kind="restriction", subject=subject, body="...",
                                    email_to="s-1@sellers.example", email_status=status, email_attempts=3,
                                    email_error="SMTP 451: try later" if status == "gave_up" else "")
    page.click("header nav a:has-text('E-mails')")
    page.wait_for_selector("#emails")
    assert page.locator("#emails tr.row").count() == 2  # undelivered only
    assert "SMTP 451: try later" in page.inner_text("#emails")
    shot(page, "email_log_undelivered")
    page.click("tr[data-status=sending] button:has-text('Send again')")
    page.wait_for_selector(".messages")
    assert "queued to be sent again" in page.inner_text(".messages")
    shot(page, "email_resend_queued")
    assert AuditEvent.objects.filter(action="email.resend", actor=lead).count() == 1

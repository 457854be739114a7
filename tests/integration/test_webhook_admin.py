"""Webhooks that gave up: the beat sweeper re-attempts them after a longer back-off, then abandons them; the client's
webhook page shows the URL, the delivery log and the signing secret (masked; reveal and rotation audited)."""
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.notifications import webhooks
from anticounterfeit.notifications.models import WebhookDelivery
from tests.factories import market, removal_for
from tests.support import wait_for
from workers.notify import sweep_failed_webhooks

from .local_servers import webhook_receiver

pytestmark = [pytest.mark.services]


def status_of(delivery) -> str:
    return WebhookDelivery.objects.get(pk=delivery.pk).status


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")  # delivers to a receiver on 127.0.0.1
def test_sweeper_reattempts_failed_deliveries_then_abandons_them(celery_worker_real, make_user, settings):
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.2, "MAX_RETRIES": 1,
                       "WEBHOOK_SWEEP_AFTER_SECONDS": 3600, "WEBHOOK_MAX_SWEEPS": 2}
    with webhook_receiver([500]) as (url, received):
        client = market(make_user, "market-a", url)
        delivery = removal_for(client)
        wait_for(lambda: status_of(delivery) == "failed", timeout=30, message="retries used up")
        assert len(received) == 2
        assert sweep_failed_webhooks() == 0  # the longer back-off has not passed yet
        for sweep in (1, 2):
            # Back-off doubles per sweep: an hour after the first give-up, two after the first sweep.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                last_attempt_at=timezone.now() - datetime.timedelta(seconds=3600 * 2 ** (sweep - 1) - 60))
            assert sweep_failed_webhooks() == 0, f"sweep {sweep} came too early"
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                last_attempt_at=timezone.now() - datetime.timedelta(seconds=3600 * 2 ** (sweep - 1) + 60))
            assert sweep_failed_webhooks() == 1
            wanted = "failed" if sweep == 1 else "abandoned"
            wait_for(lambda w=wanted: status_of(delivery) == w, timeout=30, message=f"sweep {sweep} attempted")
        assert len(received) == 4  # two retries, then one attempt per sweep
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_attempt_at=timezone.now() - datetime.timedelta(days=30))
        assert sweep_failed_webhooks() == 0  # abandoned: the sweeper leaves it alone
    done = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (done.attempts, done.sweeps, done.last_status_code) == (4, 2, 500) and "HTTP 500" in done.last_error


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")  # delivers to a receiver on 127.0.0.1
def test_swept_and_manual_retries_reach_the_fixed_endpoint_signed_with_the_rotated_secret(celery_worker_real, make_user,
                                                                                         settings, client):
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.2, "MAX_RETRIES": 0,
                       "WEBHOOK_SWEEP_AFTER_SECONDS": 0, "WEBHOOK_MAX_SWEEPS": 1}
    with webhook_receiver([503]) as (broken_url, broken):
        mkt = market(make_user, "market-a", broken_url)
        first = removal_for(mkt, "L-1")
        wait_for(lambda: status_of(first) == "failed", timeout=30, message="first gave up")
        assert sweep_failed_webhooks() == 1
        wait_for(lambda: status_of(first) == "abandoned", timeout=30, message="abandoned")
    lead = make_user("lead", Role.LEAD)
    client.force_login(lead)
    with webhook_receiver([200]) as (fixed_url, received):
        assert client.post(reverse("webhooks:set_url", args=[mkt.pk]), {"webhook_url": fixed_url}).status_code == 302
        page = client.post(reverse("webhooks:secret", args=[mkt.pk]), {"action": "rotate"})
        new_secret = re.search(r'data-testid="secret">([0-9a-f]{64})<', page.content.decode()).group(1)
        mkt.refresh_from_db()
        assert new_secret == webhooks.signing_secret(mkt) and mkt.secret_version == 1
        assert client.post(reverse("webhooks:retry", args=[mkt.pk, first.pk])).status_code == 302
        wait_for(lambda: status_of(first) == "delivered", timeout=30, message="manual retry delivered")
    assert len(broken) == 2 and len(received) == 1
    request = received[0]
    timestamp = int(request["headers"][webhooks.TIMESTAMP_HEADER])
    assert webhooks.verify(new_secret, timestamp, request["body"], request["headers"][webhooks.SIGNATURE_HEADER])
    delivered = WebhookDelivery.objects.get(pk=first.pk)
    assert delivered.url == fixed_url and delivered.attempts == 3
    assert [a.action for a in AuditEvent.objects.filter(action__startswith="webhook.").exclude(
        action="webhook.queue").order_by("id")] == ["webhook.url_change", "webhook.secret_rotate", "webhook.retry"]


@pytest.mark.django_db
def test_webhook_page_shows_log_and_masked_secret_and_audits_reveal(make_user, client):
    mkt = market(make_user, "market-a", "https://market-a.example/hooks")
    other = market(make_user, "market-b", "https://market-b.example/hooks")
    delivered = removal_for(mkt, "L-1")
    abandoned = removal_for(mkt, "L-2")
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status="delivered", attempts=1, delivered_at=timezone.now())
    WebhookDelivery.objects.filter(pk=abandoned.pk).update(status="abandoned", attempts=12, sweeps=3,
                                                           last_error="HTTP 502: bad gateway")
    secret = webhooks.signing_secret(mkt)
    lead = make_user("lead", Role.LEAD)
    client.force_login(lead)
    listing = client.get(reverse("webhooks:clients")).content.decode()
    assert "Market market-a" in listing and "Market market-b" in listing
    page = client.get(reverse("webhooks:client", args=[mkt.pk])).content.decode()
    assert "https://market-a.example/hooks" in page and "HTTP 502: bad gateway" in page
    assert 'data-status="abandoned"' in page and 'data-status="delivered"' in page and "Retry now" in page
    assert secret not in page and webhooks.masked(secret) in page
    only_abandoned = client.get(reverse("webhooks:client", args=[mkt.pk]) + "?status=abandoned").content.decode()
    assert 'data-status="abandoned"' in only_abandoned and 'data-status="delivered"' not in only_abandoned
    assert not AuditEvent.objects.filter(action="webhook.secret_reveal").exists()

    revealed = client.post(reverse("webhooks:secret", args=[mkt.pk]), {"action": "reveal"})
    assert secret in revealed.content.decode() and revealed["Cache-Control"] == "no-store"
    audit = AuditEvent.objects.get(action="webhook.secret_reveal")
    assert (audit.actor, audit.object_id, audit.object_type) == (lead, str(mkt.pk), "api.marketplaceclient")
    assert secret not in client.get(reverse("webhooks:client", args=[mkt.pk])).content.decode()  # masked again

    bad = client.post(reverse("webhooks:set_url", args=[mkt.pk]), {"webhook_url": "ftp://files.example/x"})
    assert bad.status_code == 400 and "webhook_url" in bad.content.decode()
    mkt.refresh_from_db()
    assert mkt.webhook_url == "https://market-a.example/hooks"
    assert client.get(reverse("webhooks:client", args=[other.pk])).status_code == 200  # leads manage every client


@pytest.mark.django_db
def test_a_client_sees_only_its_own_webhook_page(make_user, client):
    mkt = market(make_user, "market-a", "https://market-a.example/hooks")
    other = market(make_user, "market-b", "https://market-b.example/hooks")
    client.force_login(mkt.user)
    assert client.get(reverse("webhooks:clients")).url == reverse("webhooks:client", args=[mkt.pk])
    assert client.get(reverse("webhooks:client", args=[mkt.pk])).status_code == 200
    assert client.get(reverse("webhooks:client", args=[other.pk])).status_code == 404
    assert client.post(reverse("webhooks:secret", args=[other.pk]), {"action": "reveal"}).status_code == 404
    assert client.post(reverse("webhooks:secret", args=[other.pk]), {"action": "rotate"}).status_code == 404
    other.refresh_from_db()
    assert other.secret_version == 0 and not AuditEvent.objects.filter(action__startswith="webhook.secret").exists()
    own = client.post(reverse("webhooks:secret", args=[mkt.pk]), {"action": "reveal"})
    assert webhooks.signing_secret(mkt) in own.content.decode()
    assert AuditEvent.objects.get(action="webhook.secret_reveal").actor == mkt.user
    for role in (Role.MODERATOR, Role.SELLER, Role.BRAND_OWNER):
        client.force_login(make_user(f"user-{role}", role))
        assert client.get(reverse("webhooks:client", args=[mkt.pk])).status_code == 403
        assert client.post(reverse("webhooks:secret", args=[mkt.pk]), {"action": "reveal"}).status_code == 403


@pytest.mark.django_db
def test_a_sweep_for_a_client_without_a_url_abandons_the_delivery(make_user):
    from workers.notify import deliver_webhook

    mkt = market(make_user, "market-a", "https://market-a.example/hooks")
    delivery = removal_for(mkt)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=9)
    MarketplaceClient.objects.filter(pk=mkt.pk).update(webhook_url="")  # the marketplace turned webhooks off
    assert deliver_webhook.apply(args=[delivery.pk], kwargs={"sweep": True}).get() == "abandoned"
    gone = WebhookDelivery.objects.get(pk=delivery.pk)
    assert gone.status == "abandoned" and "no webhook URL" in gone.last_error and gone.attempts == 9


@pytest.mark.django_db
def test_after_rotation_the_previous_signature_is_sent_during_the_grace_period_only(make_user, local_webhooks,
                                                                                   settings):
    from anticounterfeit.notifications.actions import rotate_webhook_secret
    from workers.notify import deliver_webhook

    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_SECRET_GRACE_HOURS": 2}
    with webhook_receiver([200]) as (url, received):
        mkt = market(make_user, "market-a", url)
        old_secret = webhooks.signing_secret(mkt)
        assert deliver_webhook.apply(args=[removal_for(mkt, "L-0").pk]).get() == "delivered"
        new_secret = rotate_webhook_secret(mkt, acting_user=make_user("lead", Role.LEAD))
        mkt.refresh_from_db()
        assert deliver_webhook.apply(args=[removal_for(mkt, "L-1").pk]).get() == "delivered"
        # Two hours later (the configured grace period) only the new signature is sent.
        MarketplaceClient.objects.filter(pk=mkt.pk).update(
            secret_rotated_at=timezone.now() - datetime.timedelta(hours=2, seconds=1))
        assert deliver_webhook.apply(args=[removal_for(mkt, "L-2").pk]).get() == "delivered"
    before, during, after = ((r["headers"], r["body"]) for r in received)
    assert webhooks.PREVIOUS_SIGNATURE_HEADER not in before[0]  # never rotated: one signature
    headers, body = during
    timestamp = int(headers[webhooks.TIMESTAMP_HEADER])
    assert webhooks.verify(new_secret, timestamp, body, headers[webhooks.SIGNATURE_HEADER])
    assert webhooks.verify(old_secret, timestamp, body, headers[webhooks.PREVIOUS_SIGNATURE_HEADER])
    assert webhooks.verify_headers(new_secret, body, headers) and webhooks.verify_headers(old_secret, body, headers)
    assert not webhooks.verify_headers("a-wrong-secret", body, headers)
    headers, body = after
    assert webhooks.PREVIOUS_SIGNATURE_HEADER not in headers
    assert webhooks.verify_headers(new_secret, body, headers) and not webhooks.verify_headers(old_secret, body, headers)


@pytest.mark.django_db
def test_the_webhook_page_says_until_when_the_previous_secret_is_sent(make_user, client):
    mkt = market(make_user, "market-a", "https://market-a.example/hooks")
    client.force_login(make_user("lead", Role.LEAD))
    assert 'data-testid="grace"' not in client.get(reverse("webhooks:client", args=[mkt.pk])).content.decode()
    rotated = client.post(reverse("webhooks:secret", args=[mkt.pk]), {"action": "rotate"}, follow=True)
    assert "X-AC-Signature-Previous" in rotated.content.decode()
    page = client.get(reverse("webhooks:client", args=[mkt.pk])).content.decode()
    assert 'data-testid="grace"' in page and "still sent alongside until" in page

"""Webhook URLs cannot reach inside our network (server-side request forgery): internal addresses are refused when
the URL is saved and again at delivery time (the host is resolved then, and the socket connects to the checked
address); redirects are not followed. The local receivers prove that no request was made."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from django.urls import reverse

from anticounterfeit.core.models import AuditEvent
from anticounterfeit.notifications.models import WebhookDelivery
from tests.factories import market, removal_for
from tests.support import wait_for
from workers.notify import deliver_webhook

from .local_servers import webhook_receiver

pytestmark = [pytest.mark.services]

INTERNAL = [
    ("http://127.0.0.1:8080/hooks", "127.0.0.1 is a loopback address"),
    ("https://10.0.0.1/hooks", "10.0.0.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://localhost:8443/hooks", "localhost resolves to"),
    ("https://[::1]/hooks", "::1 is a loopback address"),
    ("https://0.0.0.0/hooks", "0.0.0.0 is an unspecified address"),
    ("https://192.168.1.20/hooks", "192.168.1.20 is a private address"),
    ("https://172.16.5.4/hooks", "172.16.5.4 is a private address"),
    ("https://[fd00::1]/hooks", "fd00::1 is a private address"),
    ("https://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1 is a loopback address"),
]


@pytest.fixture
def strict(settings):
    """Production defaults, except plain http so that a refusal below is about the address, not the scheme."""
    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False, "WEBHOOK_ALLOW_HTTP": True}


@pytest.mark.django_db
@pytest.mark.parametrize("url,reason", INTERNAL)
def test_saving_an_internal_url_is_a_form_error_naming_the_field(make_user, client, settings, url, reason):
    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False, "WEBHOOK_ALLOW_HTTP": True}
    mkt = market(make_user, "market-a", "https://market-a.example/hooks")
    client.force_login(mkt.user)
    page = client.post(reverse("webhooks:set_url", args=[mkt.pk]), {"webhook_url": url})
    assert page.status_code == 400
    text = page.content.decode()
    assert "webhook_url: " in text and reason in text and "WEBHOOK_ALLOW_PRIVATE_HOSTS" in text
    mkt.refresh_from_db()
    assert mkt.webhook_url == "https://market-a.example/hooks"
    assert not AuditEvent.objects.filter(action="webhook.url_change").exists()


@pytest.mark.django_db
def test_plain_http_needs_the_setting_and_public_https_hosts_are_accepted(make_user, client, settings):
    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False, "WEBHOOK_ALLOW_HTTP": False}
    mkt = market(make_user, "market-a")
    client.force_login(mkt.user)
    page = client.post(reverse("webhooks:set_url", args=[mkt.pk]), {"webhook_url": "http://hooks.market-a.example/x"})
    assert page.status_code == 400 and "webhook_url: use an https:// URL; plain http is off" in page.content.decode()
    for url in ("https://hooks.market-a.example/x", "https://93.184.215.14/x", ""):  # unresolved names wait for delivery
        assert client.post(reverse("webhooks:set_url", args=[mkt.pk]), {"webhook_url": url}).status_code == 302, url
        mkt.refresh_from_db()
        assert mkt.webhook_url == url


@pytest.mark.django_db(transaction=True)
def test_a_delivery_to_loopback_is_refused_without_a_request_or_retries(celery_worker_real, make_user, strict,
                                                                        settings):
    settings.NOTIFY = {**settings.NOTIFY, "MAX_RETRIES": 5, "RETRY_BASE_SECONDS": 0.2}
    with webhook_receiver([200]) as (url, received):  # http://127.0.0.1:PORT/hooks/ac, stored before the guard
        mkt = market(make_user, "market-a", url)
        delivery = removal_for(mkt)
        failed = wait_for(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="failed").first(), timeout=30,
                          message="delivery refused")
    assert received == []
    assert failed.attempts == 1 and failed.last_status_code is None
    assert failed.last_error.startswith("refused, no request sent: 127.0.0.1 is a loopback address")


@pytest.mark.django_db
def test_a_host_that_resolves_inward_at_delivery_time_is_refused(make_user, strict, settings):
    """Whatever was checked when the URL was saved, the name is resolved again when the delivery is made."""
    with webhook_receiver([200]) as (url, received):
        port = url.split(":")[2].split("/")[0]
        for target, reason in ((f"http://localhost:{port}/hooks/ac", "localhost resolves to"),
                               ("http://10.0.0.1/hooks", "10.0.0.1 is a private address"),
                               ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local"),
                               (f"http://2130706433:{port}/x", "2130706433 resolves to 127.0.0.1")):  # one number
            mkt = market(make_user, f"m-{len(target)}", target)
            delivery = removal_for(mkt, f"L-{len(target)}")
            assert deliver_webhook.apply(args=[delivery.pk]).get() == "failed"
            row = WebhookDelivery.objects.get(pk=delivery.pk)
            assert reason in row.last_error and "no request sent" in row.last_error, row.last_error
    assert received == []


@pytest.mark.django_db
def test_https_is_required_at_delivery_time_unless_allowed(make_user, settings):
    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_ALLOW_PRIVATE_HOSTS": True, "WEBHOOK_ALLOW_HTTP": False}
    with webhook_receiver([200]) as (url, received):
        delivery = removal_for(market(make_user, "market-a", url))
        assert deliver_webhook.apply(args=[delivery.pk]).get() == "failed"
    assert received == [] and "use an https:// URL" in WebhookDelivery.objects.get(pk=delivery.pk).last_error


@pytest.mark.django_db
def test_with_the_setting_on_a_local_host_name_is_delivered_with_its_own_host_header(make_user, local_webhooks):
    with webhook_receiver([200]) as (url, received):
        delivery = removal_for(market(make_user, "market-a", url.replace("127.0.0.1", "localhost")))
        assert deliver_webhook.apply(args=[delivery.pk]).get() == "delivered"
    assert len(received) == 1 and received[0]["headers"]["Host"].startswith("localhost:")


@pytest.mark.django_db
def test_redirects_are_not_followed(make_user, local_webhooks):
    with webhook_receiver([200]) as (inner_url, inner):
        class Redirect(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.send_response(307)
                self.send_header("Location", inner_url)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        Thread(target=server.serve_forever, daemon=True).start()
        try:
            delivery = removal_for(market(make_user, "market-a", f"http://127.0.0.1:{server.server_address[1]}/h"))
            assert deliver_webhook.apply(args=[delivery.pk]).get() == "failed"
        finally:
            server.shutdown()
            server.server_close()
    row = WebhookDelivery.objects.get(pk=delivery.pk)
    assert inner == [] and row.last_status_code == 307
    assert row.last_error == f"HTTP 307: redirect to {inner_url} not followed"

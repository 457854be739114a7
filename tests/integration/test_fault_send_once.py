"""A worker SIGKILLed right after the mail server accepted a notice (or the marketplace's receiver got a webhook),
before it could record the send or acknowledge the message: nothing sends it a second time, neither a
redelivery, nor another worker, nor the relay publishing the unfinished message again.
"""
import os
import signal
import time

import pytest

from anticounterfeit.core.models import OutboxMessage
from anticounterfeit.notifications import actions as notify
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from tests.factories import scanned_listing

from .local_servers import smtp_server, webhook_receiver
from .procs import (
    free_port,
    private_redis,
    publishing_to,
    service_env,
    start_relay,
    start_worker,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_between_send_and_acknowledgement_never_sends_twice(make_user, tmp_path):
    from anticounterfeit.accounts.models import Role
    from anticounterfeit.api.models import MarketplaceClient

    listing = scanned_listing("L-1", "S-1", score=0.2)
    seller = listing.seller
    type(seller).objects.filter(pk=seller.pk).update(email="seller@example.com")
    seller.refresh_from_db()
    OutboxMessage.objects.update(status=OutboxMessage.Status.DONE)  # the set-up's scan is not part of the drill
    current = {"worker": None}

    def kill_worker():
        worker = current["worker"]
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    smtp_port = free_port()
    with (private_redis() as broker, publishing_to(broker.url), smtp_server(smtp_port, after_accept=kill_worker) as mails,
          webhook_receiver([200], on_received=kill_worker) as (hook_url, posts)):
        market = MarketplaceClient.objects.create(name="Market", user=make_user("market", Role.API_CLIENT),
                                                  webhook_url=hook_url)
        type(listing).objects.filter(pk=listing.pk).update(client=market)
        listing.refresh_from_db()
        # Republish unfinished messages after 1 s: the strongest test of "never twice".
        env = service_env(broker.url, tmp_path, EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}", OUTBOX_REPUBLISH_AFTER_SECONDS=1,
                          WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_PRIVATE_HOSTS="true")
        relay = start_relay(env, tmp_path)
        try:
            for attempt, send in enumerate([
                    lambda: notify.notify_seller(seller, "takedown", listing=listing, context={}),
                    lambda: notify.send_webhooks("listing.removed", listing=listing, seller=seller)]):
                current["worker"] = start_worker(env, tmp_path, f"killed-{attempt}")
                send()
                wait_until(lambda: current["worker"].poll() is not None, 120, "the worker killed mid-send")
            current["worker"] = None  # the next worker lives
            survivor = start_worker(env, tmp_path, "survivor")
            try:
                time.sleep(12)  # redeliveries, republished messages and the survivor all had their chance
            finally:
                stop(survivor)
        finally:
            stop(relay)
            kill_worker()
        assert len(mails) == 1 and len(posts) == 1, (len(mails), len(posts))
        notice = Notification.objects.get(listing=listing)
        assert notice.email_status == Notification.EmailStatus.SENDING and notice.email_attempts == 1
        assert mails[0]["Message-ID"] == notify.email_message_id(notice)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.SENDING
        assert posts[0]["headers"]["Idempotency-Key"] == f"ac-webhook-{delivery.pk}"

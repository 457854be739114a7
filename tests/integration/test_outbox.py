"""The outbox end to end with a real worker: consumers are keyed by the outbox id (a redelivered message whose
consumer completed does nothing), a consumer that keeps failing becomes a dead letter that admins see and retry,
and the relay command publishes what was left pending and stops cleanly on SIGTERM."""
import signal
import subprocess
import time

import pytest
from django.core.management import call_command
from django.test import Client

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core import tasks
from anticounterfeit.core.models import AuditEvent, OutboxMessage
from anticounterfeit.notifications import actions as notify
from anticounterfeit.notifications.models import WebhookDelivery
from tests.factories import scanned_listing
from tests.support import wait_for

from .local_servers import webhook_receiver
from .procs import service_env, start_relay

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
Status = OutboxMessage.Status


def row_for(task_name: str) -> OutboxMessage:
    return OutboxMessage.objects.filter(task_name=task_name).latest("pk")


@pytest.mark.usefixtures("local_webhooks")
def test_a_redelivered_message_whose_consumer_completed_does_nothing(celery_worker_real, make_user):
    from anticounterfeit.celery import app

    listing = scanned_listing("L-1", "S-1", score=0.2)
    with webhook_receiver([200]) as (url, posts):
        market = MarketplaceClient.objects.create(name="M", user=make_user("m", Role.API_CLIENT), webhook_url=url)
        type(listing).objects.filter(pk=listing.pk).update(client=market)
        listing.refresh_from_db()
        notify.send_webhooks("listing.removed", listing=listing, seller=listing.seller)
        row = row_for(tasks.DELIVER_WEBHOOK)
        wait_for(lambda: OutboxMessage.objects.get(pk=row.pk).status == Status.DONE, 60, message="consumer done")
        assert len(posts) == 1 and WebhookDelivery.objects.get().status == "delivered"

        # Even a consumer that would act again (its row reset by hand) is not run for the same outbox id.
        WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING)
        app.send_task(row.task_name, args=row.args, kwargs=row.kwargs, headers={"outbox_id": row.pk})
        time.sleep(3)
        assert len(posts) == 1 and WebhookDelivery.objects.get().status == "pending"
        app.send_task(row.task_name, args=row.args, kwargs=row.kwargs)  # no outbox id: an ordinary message runs
        wait_for(lambda: len(posts) == 2, 30, message="the un-keyed message delivered")


def test_a_consumer_that_keeps_failing_is_a_dead_letter_admins_see_and_retry(celery_worker_real, make_user):
    # Bank v1 points at a folder that does not exist: every scan of this listing fails.
    listing = scanned_listing("L-dead", "S-1", score=0.2)
    row = OutboxMessage.objects.filter(task_name=tasks.SCAN_LISTING, args=[listing.pk]).get()
    wait_for(lambda: OutboxMessage.objects.get(pk=row.pk).status == Status.DEAD, 60, message="a dead letter")
    row.refresh_from_db()
    assert "FileNotFoundError" in row.last_error

    admin = Client()
    admin.force_login(make_user("boss", Role.ADMIN))
    page = admin.get("/admin/core/outboxmessage/?status__exact=dead").content.decode()
    assert "workers.scan.scan_listing" in page and "FileNotFoundError" in page
    response = admin.post("/admin/core/outboxmessage/", {"action": "retry", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="outbox.retry", object_id=str(row.pk)).count() == 1
    # Published again, consumed again, and (still broken) dead again after a second publication.
    wait_for(lambda: OutboxMessage.objects.filter(pk=row.pk, status=Status.DEAD, attempts=2).exists(), 60,
             message="the retried message consumed again")


def test_relay_publishes_what_was_left_pending_and_stops_on_sigterm(celery_worker_real, tmp_path):
    from anticounterfeit.celery import app

    # A row the commit hook never published (as if the broker had been down).
    row = OutboxMessage.objects.create(task_name="workers.maintenance.expire_case_leases")
    call_command("relay_outbox", "--once", stdout=open(tmp_path / "out.txt", "w"))
    wait_for(lambda: OutboxMessage.objects.get(pk=row.pk).status == Status.DONE, 60, message="relayed and consumed")

    relay = start_relay(service_env(app.conf.broker_url, tmp_path), tmp_path)
    time.sleep(4)
    relay.send_signal(signal.SIGTERM)
    try:
        assert relay.wait(15) == 0
    except subprocess.TimeoutExpired:
        relay.kill()
        raise
    assert "outbox relay stopped" in (tmp_path / "relay.log").read_text()

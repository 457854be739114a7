"""In the embedded mode a decision answers at once; its consequences run afterwards on the task thread.

The task thread is held busy by a task that waits on an event, so whatever the takedown request ran inline would
show up before the event is set: the answer comes back with the listing removed, the fake's bank delta written
and the seller's e-mail queued but not yet sent; once the thread is released the e-mail arrives, and the case
page's consequence panel, which polls while anything is on its way, shows it and stops polling.
"""
import threading

import pytest
from django.core import mail
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.celery import app
from anticounterfeit.core import queue, tasks
from anticounterfeit.core.models import OutboxMessage
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
RELEASE = threading.Event()
STARTED = threading.Event()


@app.task(name="tests.embedded.hold_task_thread")
def hold_task_thread() -> None:
    STARTED.set()
    RELEASE.wait(timeout=120)


def test_takedown_answers_before_its_consequences_run(client, make_user, settings):
    settings.EMBEDDED_MODE = True
    brand = make_brand()
    listing = scanned_listing("L-fake", "S-1", score=0.96, brand=brand, ref=make_reference(brand))
    listing.seller.email = "seller@sellers.example"
    listing.seller.save(update_fields=["email"])
    case = Case.objects.get(listing=listing)
    banks_before = BankVersion.objects.count()
    client.force_login(make_user("mod", Role.MODERATOR))

    RELEASE.clear()
    STARTED.clear()
    queue.enqueue("tests.embedded.hold_task_thread")
    assert STARTED.wait(30), "the embedded task thread did not start the holding task"
    try:
        response = client.post(reverse("moderation:decide", args=[case.pk]),
                               {"action": "takedown", "reason_code": "counterfeit"})
        assert response.status_code == 302
        listing.refresh_from_db()
        assert listing.status == Listing.Status.REMOVED  # the decision itself is done
        email = OutboxMessage.objects.get(task_name=tasks.SEND_NOTIFICATION_EMAIL)
        assert email.status == OutboxMessage.Status.PENDING  # handed to the task thread, which has not run it
        # the fake joins the counterfeit bank: a delta in the decision, or (features of other models) a queued task
        assert (BankDelta.objects.filter(op=BankDelta.Op.ADD_COUNTERFEIT).exists()
                or OutboxMessage.objects.filter(task_name=tasks.RECORD_COUNTERFEIT,
                                                status=OutboxMessage.Status.PENDING).exists())
        assert mail.outbox == []  # the seller's notice is not sent inside the request
        panel = client.get(reverse("moderation:consequences", args=[case.pk])).content.decode()
        assert 'data-state="pending"' in panel and 'hx-trigger="every 2s"' in panel  # the page polls for it
    finally:
        RELEASE.set()
    queue.wait_until_idle()
    assert [m.to for m in mail.outbox] == [["seller@sellers.example"]], "the seller's notice arrived"
    assert OutboxMessage.objects.get(task_name=tasks.SEND_NOTIFICATION_EMAIL).status == OutboxMessage.Status.DONE
    assert BankVersion.objects.count() == banks_before, "a decision builds no full bank"
    panel = client.get(reverse("moderation:consequences", args=[case.pk])).content.decode()
    assert "e-mail sent" in panel and "Counterfeit bank" in panel and "Trust rating" in panel
    assert 'data-state="pending"' not in panel and "hx-trigger" not in panel  # all arrived: polling stops

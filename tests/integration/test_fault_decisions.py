"""Redis stops while people decide: every kind of decision still answers success and is committed, and once
Redis is back the relay publishes its consequences and each happens exactly once: one e-mail per notice (a local
SMTP server counts them), one POST per webhook delivery (a local receiver counts them), one bank delta per
removed or reinstated listing (and no full rebuild).

The console runs in this process (Django's test client) and publishes to a private redis-server that the test
stops; the relay (``manage.py relay_outbox``) and a Celery worker are real subprocesses.
"""
import time

import pytest
from django.test import Client
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.models import BrandReport
from anticounterfeit.core import tasks
from anticounterfeit.core.models import OutboxMessage
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import Appeal, Case, Decision
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import RestrictionReview
from tests.factories import make_brand, make_reference, scanned_listing

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
Status = OutboxMessage.Status


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def case_of(listing) -> Case:
    return Case.objects.filter(listing=listing).latest("pk")


@pytest.fixture
def world(make_user):
    acme, zenit = make_brand("acme", "Acme"), make_brand("zenit", "Zenit")
    ref_a, ref_z = make_reference(acme, "ref-a"), make_reference(zenit, "ref-z")
    listings = {key: scanned_listing(f"L-{key}", seller, score=0.95 if brand is acme else 0.4, brand=brand, ref=ref,
                                     title=f"{key} listing")
                for key, seller, brand, ref in [
                    ("takedown", "S-1", acme, ref_a), ("dismiss", "S-2", acme, ref_a), ("bulk1", "S-3", acme, ref_a),
                    ("bulk2", "S-3", acme, ref_a), ("report", "S-4", zenit, ref_z), ("self", "S-5", acme, ref_a),
                    ("appeal", "S-6", acme, ref_a)]}
    users = {"mod": make_user("mod", Role.MODERATOR), "lead": make_user("lead", Role.LEAD),
             "lead2": make_user("lead2", Role.LEAD),
             "acme_owner": make_user("acme-owner", Role.BRAND_OWNER, brands=[acme]),
             "zenit_owner": make_user("zenit-owner", Role.BRAND_OWNER, brands=[zenit])}
    type(acme).objects.filter(pk=acme.pk).update(self_service=True, self_service_reason="test: granted")
    for user in users.values():
        type(user).objects.filter(pk=user.pk).update(email=f"{user.username}@example.com")
    Seller.objects.update(email="seller@example.com")
    # The appeal and the restriction review exist before the outage.
    takedown = moderation.do_take_down(case_of(listings["appeal"]).pk, acting_user=users["mod"])
    appeal = moderation.file_appeal(takedown, seller=listings["appeal"].seller, statement="it is genuine")
    review = trust_actions.open_restriction_review(Seller.objects.get(seller_key="S-1"), strikes=3)
    return {"listings": listings, "users": users, "appeal": appeal, "review": review, "ref_a": ref_a, "ref_z": ref_z}


def decide_everything(world) -> dict[str, int]:
    """Each kind of decision through the console, the brand portal or the trust pages; returns HTTP codes."""
    listings, users = world["listings"], world["users"]
    mod, lead2 = logged_in(users["mod"]), logged_in(users["lead2"])
    codes = {}

    def decide(case, action, reason):
        mod.get(reverse("moderation:case", args=[case.pk]))  # opening the case takes its lease
        return mod.post(f"/console/cases/{case.pk}/decide/", {"action": action, "reason_code": reason}).status_code

    codes["takedown"] = decide(case_of(listings["takedown"]), "takedown", "counterfeit")
    codes["dismiss"] = decide(case_of(listings["dismiss"]), "dismiss", "genuine")
    anchor = case_of(listings["bulk1"])
    ids = f"{anchor.pk},{case_of(listings['bulk2']).pk}"
    mod.get(reverse("moderation:case", args=[anchor.pk]))
    codes["bulk"] = mod.post(reverse("moderation:bulk", args=[anchor.pk]), {
        "scope": "seller", "action": "takedown", "reason_code": "counterfeit", "ids": ids, "confirm": "1"}).status_code
    codes["brand_report"] = logged_in(users["zenit_owner"]).post(
        reverse("catalog:match", args=[listings["report"].pk]),
        {"reason_code": "counterfeit", "note": "fake", "reference": world["ref_z"].pk}).status_code
    codes["brand_report_takedown"] = decide(case_of(listings["report"]), "takedown", "counterfeit")
    codes["self_service_removal"] = logged_in(users["acme_owner"]).post(
        reverse("catalog:match", args=[listings["self"].pk]),
        {"reason_code": "counterfeit", "note": "exact copy", "reference": world["ref_a"].pk}).status_code
    codes["appeal_decision"] = lead2.post(reverse("moderation:appeal_decide", args=[world["appeal"].pk]),
                                          {"outcome": "reinstate", "note": "authorized"}).status_code
    codes["restriction"] = lead2.post(reverse("trust:decide", args=[world["review"].pk]),
                                      {"decision": "restrict", "note": "repeat"}).status_code
    return codes


def assert_committed(world) -> None:
    listings = {key: Listing.objects.get(pk=listing.pk) for key, listing in world["listings"].items()}
    removed = Listing.Status.REMOVED
    assert [listings[k].status for k in ("takedown", "bulk1", "bulk2", "report", "self")] == [removed] * 5
    assert Decision.objects.filter(case__listing=listings["dismiss"], action="dismiss").exists()
    assert BrandReport.objects.filter(listing=listings["report"]).exists()
    assert BrandReport.objects.get(listing=listings["self"]).direct_removal
    assert Appeal.objects.get(pk=world["appeal"].pk).status != Appeal.Status.OPEN
    assert listings["appeal"].status == Listing.Status.REINSTATED
    assert RestrictionReview.objects.get(pk=world["review"].pk).state != "open"
    assert Seller.objects.get(seller_key="S-1").restricted


def assert_one_bank_delta_each(world, banks_before: int) -> None:
    """Each removed listing joined the counterfeit bank once, the reinstated one left it once; nothing rebuilt."""
    removed = [world["listings"][key].listing_key for key in ("takedown", "bulk1", "bulk2", "report", "self")]
    adds = BankDelta.objects.filter(op=BankDelta.Op.ADD_COUNTERFEIT)
    assert {key: adds.filter(source_key=key).count() for key in removed} == dict.fromkeys(removed, 1)
    assert BankDelta.objects.filter(op=BankDelta.Op.REMOVE_COUNTERFEIT).count() == 1
    assert BankDelta.objects.get(op=BankDelta.Op.REMOVE_COUNTERFEIT).source_key == "L-appeal"
    assert BankVersion.objects.count() == banks_before


def test_every_decision_succeeds_with_redis_down_and_each_consequence_happens_once(world, tmp_path):
    smtp_port = free_port()
    with (private_redis() as broker, publishing_to(broker.url), smtp_server(smtp_port) as mails,
          webhook_receiver([200]) as (hook_url, posts)):
        market = MarketplaceClient.objects.create(name="Market", user=world["users"]["mod"], webhook_url=hook_url)
        Listing.objects.update(client=market)
        # What the set-up queued is not part of the drill (its scans would need a bank on disk).
        OutboxMessage.objects.update(status=Status.DONE)
        first_notice = (Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        first_row = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
        banks_before = BankVersion.objects.count()

        broker.stop()
        started = time.monotonic()
        codes = decide_everything(world)
        assert time.monotonic() - started < 60, "the decisions hung on the dead broker"
        assert all(code in (200, 302) for code in codes.values()), codes
        assert_committed(world)
        rows = OutboxMessage.objects.filter(pk__gt=first_row)
        assert rows.exists() and not rows.exclude(status=Status.PENDING).exists(), "queued while the broker was down"
        expected = {name: rows.filter(task_name=name).count() for name in rows.values_list("task_name", flat=True)}
        assert tasks.REBUILD_BANKS not in expected, "a decision queued a full bank rebuild"

        broker.start()  # empty, on the same port
        env = service_env(broker.url, tmp_path, EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}", AC_ENGINE="eager",
                          WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_PRIVATE_HOSTS="true")
        relay = start_relay(env, tmp_path)
        worker = start_worker(env, tmp_path, "decisions")
        try:
            wait_until(lambda: not rows.exclude(status__in=[Status.DONE, Status.DEAD]).exists(), 300,
                       "every consequence consumed after Redis came back")
            time.sleep(3)  # the relay keeps running; nothing more may happen
            assert list(rows.filter(status=Status.DEAD).values_list("task_name", "last_error")) == []
            notices = Notification.objects.filter(pk__gt=first_notice).exclude(email_to="")
            assert notices.count() >= 8 and set(notices.values_list("email_status", flat=True)) == {"sent"}
            assert len(mails) == notices.count(), "one e-mail per notice"
            assert len({mail["Message-ID"] for mail in mails}) == len(mails)
            deliveries = WebhookDelivery.objects.all()
            assert deliveries.count() >= 5 and set(deliveries.values_list("status", flat=True)) == {"delivered"}
            assert len(posts) == deliveries.count(), "one POST per webhook delivery"
            assert len({post["headers"]["Idempotency-Key"] for post in posts}) == len(posts)
            assert {name: rows.filter(task_name=name, status=Status.DONE).count() for name in expected} == expected

            assert_one_bank_delta_each(world, banks_before)

            # The broker delivers every message again (a redelivery): a consumer that completed does nothing.
            from anticounterfeit.celery import app
            for row in rows:
                app.send_task(row.task_name, args=row.args, kwargs=row.kwargs, headers={"outbox_id": row.pk})
            time.sleep(8)
            assert len(mails) == notices.count() and len(posts) == deliveries.count()
            assert_one_bank_delta_each(world, banks_before)
        finally:
            stop(worker)
            stop(relay)

"""Appeal, end to end with a real worker: scan → takedown (the listing's vectors enter the confirmed-counterfeit
bank) → the seller appeals from the notice with evidence → a lead reinstates → listing restored, strike removed,
rating back, vectors out of the rebuilt bank, brand and marketplace told."""
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.actions import import_bundle
from anticounterfeit.catalog.models import Brand
from anticounterfeit.detection.bank_builds import compact
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.listings import actions as listing_actions
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Appeal, Case
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from tests.support import wait_for

from .helpers import labels_by_id, read_jsonl
from .local_servers import webhook_receiver

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def latest_bank() -> BankVersion | None:
    return BankVersion.objects.order_by("-number").first()


@pytest.mark.usefixtures("local_webhooks")  # delivers to a receiver on 127.0.0.1
def test_appeal_reinstates_and_takes_the_listing_out_of_the_counterfeit_bank(celery_worker_real, demo_bundle, make_user,
                                                                              client, settings):
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.5}
    import_bundle(str(demo_bundle))
    first = wait_for(latest_bank, timeout=300, message="first bank")
    labels = labels_by_id(demo_bundle)
    record = next(r for r in read_jsonl(demo_bundle / "listings.jsonl") if labels[r["listing_id"]]["counterfeit"])
    with webhook_receiver([200]) as (url, received):
        market = MarketplaceClient.objects.create(name="Market A", user=make_user("market", Role.API_CLIENT),
                                                  webhook_url=url)
        listing = accept_validated({
            **{k: v for k, v in record.items() if k != "images"},
            "images": [{"filename": p.split("/")[-1], "data": (demo_bundle / p).read_bytes()} for p in record["images"]],
        }, client=market)
        listing = wait_for(lambda: Listing.objects.exclude(status="pending").filter(pk=listing.pk).first(), timeout=300,
                           message="listing scanned")
        assert listing.images.exclude(vector=None).exists()
        if listing.status != Listing.Status.IN_REVIEW:  # the scan's verdict is not what this test is about
            actions.open_or_update_case(listing, listing.detections.first())
            listing_actions.set_status(listing, Listing.Status.IN_REVIEW, reason="test: reported")
        brand = listing.matched_brand or Brand.objects.get(brand_key=labels[record["listing_id"]]["brand_id"])
        owner = make_user("brand-owner", Role.BRAND_OWNER, brands=[brand])
        seller = listing.seller
        type(seller).objects.filter(pk=seller.pk).update(email="seller@example.test")  # the bundle has no emails
        rating_before = seller.trust_rating

        decision = actions.do_take_down(Case.objects.get(listing=listing).pk, acting_user=make_user("mod", Role.MODERATOR))
        added = BankDelta.objects.get(op="add_counterfeit", source_key=listing.listing_key)  # no rebuild: a delta
        assert added.dim and len(added.pdq) >= 1
        seller.refresh_from_db()
        assert seller.trust_rating < rating_before

        # The seller appeals from the notice, with an invoice.
        client.force_login(make_user("seller", Role.SELLER, seller=seller))
        note = Notification.objects.get(seller=seller, kind="takedown")
        response = client.post(reverse("notifications:notice", args=[note.pk]), {
            "statement": "I bought this pair from the brand's own outlet; invoice attached.",
            "evidence": SimpleUploadedFile("invoice.pdf", b"%PDF-1.4\n% invoice 2026-118\n", "application/pdf")})
        assert response.status_code == 302
        appeal = Appeal.objects.get(decision=decision, status=Appeal.Status.OPEN)

        actions.decide_appeal(appeal.pk, acting_user=make_user("lead", Role.LEAD), reinstate=True, note="invoice checks out")
        assert BankDelta.objects.filter(op="remove_counterfeit", source_key=listing.listing_key).count() == 1
        wait_for(lambda: WebhookDelivery.objects.filter(event="listing.reinstated", status="delivered").exists(),
                 timeout=60, message="reinstatement webhook")
    assert BankVersion.objects.latest("number") == first  # neither decision rebuilt the banks
    compacted = BankVersion.objects.get(number=compact())  # compaction folds both deltas into a full version
    assert compacted.counts.get("cf_image", 0) == 0  # the listing's vectors left the counterfeit bank
    listing.refresh_from_db()
    seller.refresh_from_db()
    assert listing.status == Listing.Status.REINSTATED
    assert seller.trust_rating == rating_before  # strike removed, rating restored exactly
    assert Notification.objects.filter(seller=seller, kind="reinstatement").exists()
    assert Notification.objects.filter(user=owner, kind="report_outcome", decision=decision).exists()
    assert [d.event for d in WebhookDelivery.objects.order_by("id")] == ["listing.removed", "listing.reinstated"]
    assert len(received) == 2
    reinstatement = Notification.objects.get(seller=seller, kind="reinstatement")
    wait_for(lambda: Notification.objects.filter(pk=reinstatement.pk, email_status="sent").exists(), timeout=60,
             message="reinstatement email")
    assert any("reinstated" in m.subject and m.to == ["seller@example.test"] for m in mail.outbox)
    page = client.get(reverse("notifications:center")).content.decode()
    assert str(rating_before) in page and "Reinstated" in page

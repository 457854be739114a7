"""The spine, end to end on PostgreSQL + Redis with a real Celery worker:

import catalog → API intake → worker scan → cases → takedown in the console → notice, trust event,
rating drop, counterfeit bank grows → the same fake from another seller scores higher.
"""
import pytest
from django.core import mail
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.catalog.actions import import_bundle
from anticounterfeit.catalog.models import ImportJob, ReferenceItem
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.models import BankDelta, BankVersion
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import Case, Decision
from anticounterfeit.notifications.models import Notification
from anticounterfeit.trust.models import TrustEvent
from tests.support import wait_for

from .helpers import api_payload, labels_by_id, read_jsonl

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_whole_flow(celery_worker_real, demo_bundle, api, make_user, client):
    # 1. Import: rows now, banks built by the worker on the index queue.
    job = import_bundle(str(demo_bundle))
    assert job.errors == []
    assert ReferenceItem.objects.count() == len(read_jsonl(demo_bundle / "catalog.jsonl"))
    bank = wait_for(lambda: BankVersion.objects.first(), message="the first bank version")
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, message="import job done")
    assert bank.counts.get("cf_image", 0) == 0

    # 2. Intake through the API; every listing is in the database before it is scanned.
    labels = labels_by_id(demo_bundle)
    records = read_jsonl(demo_bundle / "listings.jsonl")
    for record in records:
        response = api.post("/api/v1/listings", api_payload(demo_bundle, record), format="json")
        assert response.status_code == 201, response.content
    assert Listing.objects.count() == len(records)

    # 3. The worker scans them all.
    wait_for(lambda: not Listing.objects.filter(status=Listing.Status.PENDING).exists(), timeout=300,
             message="all listings scanned")
    flagged = set(Case.objects.values_list("listing__listing_key", flat=True))
    fakes = {lid for lid, row in labels.items() if row["counterfeit"]}
    genuine = set(labels) - fakes
    assert len(flagged & fakes) >= 0.6 * len(fakes), f"only {len(flagged & fakes)} of {len(fakes)} fakes queued"
    assert len(flagged & genuine) <= 0.3 * len(genuine)
    status = api.get(f"/api/v1/listings/{records[0]['listing_id']}")
    assert status.status_code == 200 and status.json()["status"] in {"clear", "in_review"}

    # 4. A moderator takes the weakest true-fake case down in the console.
    moderator = make_user("mod", Role.MODERATOR)
    case = (Case.objects.filter(listing__listing_key__in=fakes).select_related("listing__seller")
            .order_by("listing__score").first())
    listing, seller = case.listing, case.listing.seller
    seller.email = "seller@example.com"
    seller.save(update_fields=["email"])
    rating_before = seller.trust_rating
    score_before = listing.score
    bank_count = BankVersion.objects.count()
    client.force_login(moderator)
    assert client.get(reverse("moderation:case", args=[case.pk])).status_code == 200
    response = client.post(reverse("moderation:decide", args=[case.pk]),
                           {"action": "takedown", "reason_code": "counterfeit", "note": "copy of the catalog photo"})
    assert response.status_code == 302

    # 5. Effects: listing removed, notice + email, trust event, rating drop, audit row, bank grows.
    listing.refresh_from_db()
    seller.refresh_from_db()
    assert listing.status == Listing.Status.REMOVED
    decision = Decision.objects.get(case=case)
    assert decision.action == Decision.Action.TAKEDOWN and decision.moderator == moderator
    notice = Notification.objects.get(seller=seller, kind=Notification.Kind.TAKEDOWN)
    assert listing.listing_key in notice.body and "appeal" in notice.body.lower()
    assert TrustEvent.objects.filter(seller=seller, kind=TrustEvent.Kind.TAKEDOWN, decision=decision).exists()
    assert seller.trust_rating < rating_before
    audit = AuditEvent.objects.filter(action="case.takedown", object_id=str(case.pk)).get()
    assert audit.actor == moderator and audit.after["reason_code"] == "counterfeit"
    # The fake joins the live counterfeit bank as a delta of the takedown's transaction: no rebuild.
    assert BankDelta.objects.filter(op="add_counterfeit", source_key=listing.listing_key).count() == 1
    assert BankVersion.objects.count() == bank_count
    wait_for(lambda: Notification.objects.get(pk=notice.pk).email_status == Notification.EmailStatus.SENT,
             message="takedown email sent")

    # 6. The same fake image from another seller now matches the confirmed-counterfeit bank.
    record = next(r for r in records if r["listing_id"] == listing.listing_key)
    again = api_payload(demo_bundle, record, listing_id=f"{record['listing_id']}-again", seller_id="another-seller")
    assert api.post("/api/v1/listings", again, format="json").status_code == 201
    resubmitted = wait_for(
        lambda: Listing.objects.filter(listing_key=again["listing_id"]).exclude(status=Listing.Status.PENDING).first(),
        message="resubmission scanned")
    detection = resubmitted.detections.first()
    assert any(m["kind"] == "counterfeit" for m in detection.matches)
    assert resubmitted.score > score_before or score_before > 0.995
    assert resubmitted.status == Listing.Status.IN_REVIEW
    assert any(listing.listing_key in m.body for m in mail.outbox)

"""Notices: takedown content (actionable, nothing confidential), brand-owner notices and inboxes, scoping,
email through the configured SMTP backend with retries, and HMAC-signed webhooks with retries — against real
local servers and a real worker."""
import json

import pytest
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications import webhooks
from anticounterfeit.notifications.actions import notify_seller
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import RestrictionReview
from tests.factories import make_brand, make_reference, scanned_listing
from tests.support import wait_for

from .local_servers import free_port, smtp_server, webhook_receiver

pytestmark = [pytest.mark.services]


@pytest.fixture
def world(db, make_user):
    acme, zenit = make_brand("acme", "Acme"), make_brand("zenit", "Zenit")
    ref = make_reference(acme, "ref-secret-key", msrp=987)
    ref.title, ref.description = "Acme Confidential Runner 2027", "unreleased colourway"
    ref.save()
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=acme, ref=ref, title="Acme runner replica")
    other = scanned_listing("L-other", "S-2", score=0.9, brand=zenit, ref=make_reference(zenit, "ref-z"),
                            title="Zenit watch copy")
    other.images.update(pdq="", vector=None)
    return {"acme": acme, "zenit": zenit, "ref": ref, "fake": fake, "other": other,
            "moderator": make_user("mod", Role.MODERATOR), "lead": make_user("lead", Role.LEAD)}


def take_down(listing, moderator, reason="counterfeit"):
    return actions.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator, reason_code=reason)


@pytest.mark.django_db
def test_takedown_notice_is_actionable_and_reveals_nothing_confidential(world):
    seller = world["fake"].seller
    before = seller.trust_rating
    take_down(world["other"], world["moderator"])
    take_down(world["fake"], world["moderator"], "trademark_misuse")
    seller.refresh_from_db()
    note = Notification.objects.get(seller=seller, kind="takedown")
    text = note.subject + note.body
    assert "L-fake" in text and "Acme runner replica" in text  # which listing
    assert "rights of Acme" in text  # which brand's rights
    assert "Trademark misuse in the listing" in text  # reason code in plain words
    assert "policy" in text.lower()
    assert f"from {before} to {seller.trust_rating}" in text  # effect on the rating
    assert note.appeal_deadline is not None and note.appeal_deadline.strftime("%-d %B %Y") in text  # by when
    assert "appeal" in text.lower() and "seller center" in text.lower()  # how
    for secret in ("ref-secret-key", "Confidential Runner", "unreleased", "987", "S-2", "L-other", "Zenit"):
        assert secret not in text, secret


@pytest.mark.django_db
def test_brand_owner_notices_for_report_outcomes_and_reinstatement(world, make_user, client):
    acme_owner = make_user("acme-owner", Role.BRAND_OWNER, brands=[world["acme"]])
    zenit_owner = make_user("zenit-owner", Role.BRAND_OWNER, brands=[world["zenit"]])
    Case.objects.filter(listing=world["fake"]).update(source=Case.Source.BRAND_REPORT)
    decision = take_down(world["fake"], world["moderator"])
    take_down(world["other"], world["moderator"])  # a scan case: no report, no notice to Zenit
    removed = Notification.objects.get(user=acme_owner, kind="report_outcome")
    assert "was removed" in removed.subject and "L-fake" in removed.body and "S-1" not in removed.body
    assert not Notification.objects.filter(user=zenit_owner).exists()
    appeal = actions.file_appeal(decision, seller=world["fake"].seller, statement="Bought from Acme; invoice attached.")
    actions.decide_appeal(appeal.pk, acting_user=world["lead"], reinstate=True)
    reinstated = Notification.objects.filter(user=acme_owner, kind="report_outcome").first()
    assert "reinstated" in reinstated.subject and "confirmed-counterfeit bank" in reinstated.body

    client.force_login(zenit_owner)
    assert client.get(reverse("notifications:notice", args=[reinstated.pk])).status_code == 404
    client.force_login(acme_owner)
    inbox = client.get(reverse("notifications:inbox")).content.decode()
    assert "L-fake" in inbox and "2 unread" in inbox
    assert client.get(reverse("notifications:notice", args=[reinstated.pk])).status_code == 200
    assert client.get(reverse("notifications:center")).status_code == 403  # the seller center is for sellers


@pytest.mark.django_db
def test_seller_sees_only_own_notices_and_listings(world, make_user, client):
    take_down(world["fake"], world["moderator"])
    take_down(world["other"], world["moderator"])
    client.force_login(make_user("seller1", Role.SELLER, seller=world["fake"].seller))
    page = client.get(reverse("notifications:center")).content.decode()
    assert "L-fake" in page and "L-other" not in page and "Zenit watch" not in page
    own = Notification.objects.get(seller=world["fake"].seller, kind="takedown")
    foreign = Notification.objects.get(seller=world["other"].seller, kind="takedown")
    assert client.get(reverse("notifications:notice", args=[own.pk])).status_code == 200
    assert client.get(reverse("notifications:notice", args=[foreign.pk])).status_code == 404
    assert Notification.objects.get(pk=own.pk).read_at is not None
    assert client.get(reverse("notifications:inbox")).status_code == 403
    assert client.get(reverse("trust:reviews")).status_code == 403


@pytest.mark.django_db
def test_appeal_form_validates_evidence_and_allows_one_appeal(world, make_user, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    take_down(world["fake"], world["moderator"])
    note = Notification.objects.get(seller=world["fake"].seller, kind="takedown")
    client.force_login(make_user("seller1", Role.SELLER, seller=world["fake"].seller))
    url = reverse("notifications:notice", args=[note.pk])
    bad = client.post(url, {"statement": "This is a genuine product from Acme.",
                            "evidence": SimpleUploadedFile("invoice.exe", b"MZ\x90\x00 not an image", "image/jpeg")})
    assert bad.status_code == 200 and "evidence" in bad.content.decode() and not world["fake"].seller.appeals.exists()
    ok = client.post(url, {"statement": "This is a genuine product from Acme.",
                           "evidence": SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")})
    assert ok.status_code == 302
    appeal = world["fake"].seller.appeals.get()
    assert appeal.evidence.name.endswith(".pdf") and appeal.status == "open"
    again = client.get(url).content.decode()
    assert "File appeal" not in again and "Open" in again
    with pytest.raises(ValueError):
        actions.file_appeal(appeal.decision, seller=appeal.seller, statement="second appeal, same decision")


@pytest.mark.django_db(transaction=True)
def test_email_goes_through_smtp_and_is_retried_until_the_server_is_up(world, celery_worker_real, settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 1.0}
    seller = world["fake"].seller
    type(seller).objects.filter(pk=seller.pk).update(email="seller@example.test")
    seller.refresh_from_db()
    note = notify_seller(seller, "restriction_review", context={"strikes": 3, "window_days": 90})
    # Nothing listens yet: the send fails, the notice stays in the inbox, marked for retry.
    failed = wait_for(lambda: Notification.objects.filter(pk=note.pk, email_status="failed").first(), timeout=30,
                      message="first failed attempt")
    assert failed.email_attempts >= 1 and failed.email_error
    with smtp_server(port) as received:
        sent = wait_for(lambda: Notification.objects.filter(pk=note.pk, email_status="sent").first(), timeout=60,
                        message="email sent after retry")
        assert sent.email_attempts >= 2 and sent.email_error == ""
        assert len(received) == 1
    message = received[0]
    assert message["To"] == "seller@example.test" and "under review" in message["Subject"]
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert "repeat-infringer policy" in parts["text/plain"]
    assert "<h1" in parts["text/html"] and f"/seller/notices/{note.pk}/" in parts["text/html"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")  # delivers to a receiver on 127.0.0.1
def test_webhook_is_signed_retried_with_backoff_and_recorded(world, celery_worker_real, make_user, settings):
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.5}
    with webhook_receiver([503, 500, 200]) as (url, received):
        market = MarketplaceClient.objects.create(name="Market A", user=make_user("market", Role.API_CLIENT),
                                                  webhook_url=url)
        type(world["fake"]).objects.filter(pk=world["fake"].pk).update(client=market)
        take_down(world["fake"], world["moderator"])
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").first(), timeout=60,
                            message="webhook delivered after retries")
    assert delivery.attempts == 3 and delivery.last_status_code == 200 and delivery.delivered_at
    assert len(received) == 3 and all(r["body"] == received[0]["body"] for r in received)
    last = received[-1]
    body, headers = last["body"], last["headers"]
    secret = webhooks.signing_secret(market)
    assert webhooks.verify(secret, int(headers[webhooks.TIMESTAMP_HEADER]), body, headers[webhooks.SIGNATURE_HEADER])
    assert not webhooks.verify("wrong-secret", int(headers[webhooks.TIMESTAMP_HEADER]), body,
                               headers[webhooks.SIGNATURE_HEADER])
    payload = json.loads(body)
    assert payload["event"] == "listing.removed" and payload["listing_id"] == "L-fake"
    assert payload["seller_id"] == "S-1" and payload["decision"]["reason_code"] == "counterfeit"
    assert headers[webhooks.EVENT_HEADER] == "listing.removed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")  # delivers to a receiver on 127.0.0.1
def test_webhook_gives_up_after_max_retries_and_says_so(world, celery_worker_real, make_user, settings):
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.2, "MAX_RETRIES": 2}
    with webhook_receiver([500]) as (url, received):
        market = MarketplaceClient.objects.create(name="Market B", user=make_user("market-b", Role.API_CLIENT),
                                                  webhook_url=url)
        type(world["fake"]).objects.filter(pk=world["fake"].pk).update(client=market)
        # Seller events go to the tenant that registered the seller: make it this marketplace's seller.
        type(world["fake"].seller).objects.filter(pk=world["fake"].seller_id).update(client=market)
        review = trust_actions.open_restriction_review(world["fake"].seller, strikes=3)
        trust_actions.decide_restriction(review.pk, acting_user=world["lead"], restrict=True)
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="failed").first(), timeout=60,
                            message="webhook gave up")
    assert delivery.event == "seller.restricted" and delivery.attempts == 3 and len(received) == 3
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error


@pytest.mark.django_db
def test_appeal_form_is_gone_once_the_window_has_closed(world, make_user, client):
    from datetime import timedelta

    from django.utils import timezone

    take_down(world["fake"], world["moderator"])
    note = Notification.objects.get(seller=world["fake"].seller, kind="takedown")
    Notification.objects.filter(pk=note.pk).update(appeal_deadline=timezone.now() - timedelta(minutes=1))
    client.force_login(make_user("seller1", Role.SELLER, seller=world["fake"].seller))
    url = reverse("notifications:notice", args=[note.pk])
    page = client.get(url).content.decode()
    assert "appeal window for this decision has closed" in page and "File appeal" not in page
    client.post(url, {"statement": "This is a genuine product from Acme."})
    assert not world["fake"].seller.appeals.exists()


@pytest.mark.django_db
def test_restriction_pages_are_for_leads_only(world, make_user, client):
    review = trust_actions.open_restriction_review(world["fake"].seller, strikes=3)
    client.force_login(world["moderator"])
    assert client.get(reverse("trust:reviews")).status_code == 403
    assert client.post(reverse("trust:decide", args=[review.pk]), {"decision": "restrict"}).status_code == 403
    client.force_login(world["lead"])
    assert "S-1" in client.get(reverse("trust:reviews")).content.decode()
    assert client.post(reverse("trust:decide", args=[review.pk]), {"decision": "restrict"}).status_code == 302
    world["fake"].seller.refresh_from_db()
    assert world["fake"].seller.restricted


@pytest.mark.django_db(transaction=True)
def test_email_that_used_up_its_retries_is_queued_again_by_the_sweeper(world, celery_worker_real, settings):
    from workers.notify import resend_stalled_emails

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.NOTIFY = {**settings.NOTIFY, "RETRY_BASE_SECONDS": 0.2, "MAX_RETRIES": 1}
    seller = world["fake"].seller
    type(seller).objects.filter(pk=seller.pk).update(email="seller@example.test")
    seller.refresh_from_db()
    note = notify_seller(seller, "restriction_review", context={"strikes": 3, "window_days": 90})
    gave_up = wait_for(lambda: Notification.objects.filter(pk=note.pk, email_status="gave_up").first(), timeout=30,
                       message="retries used up")
    assert gave_up.email_attempts == 2 and Notification.objects.filter(pk=note.pk).exists()
    with smtp_server(port) as received:
        assert resend_stalled_emails() == 1  # what beat runs; the email itself goes through the worker
        wait_for(lambda: Notification.objects.filter(pk=note.pk, email_status="sent").exists(), timeout=30,
                 message="sent by the sweeper's retry")
    assert len(received) == 1 and Notification.objects.get(pk=note.pk).email_attempts == 3
    assert resend_stalled_emails() == 0  # nothing left to resend


@pytest.mark.django_db
def test_leads_get_an_inbox_notice_when_a_restriction_review_opens(world, make_user, client, settings):
    settings.TRUST = {**settings.TRUST, "REPEAT_STRIKES": 2}
    admin = make_user("admin", Role.ADMIN)
    type(admin).objects.filter(pk=admin.pk).update(email="admin@example.test")
    seller = world["fake"].seller
    take_down(world["fake"], world["moderator"])
    assert not Notification.objects.filter(kind="review_to_decide").exists()  # one strike: no review
    second = scanned_listing("L-fake-2", "S-1", score=0.95, brand=world["acme"], ref=world["ref"])
    take_down(second, world["moderator"])
    review = RestrictionReview.objects.get(seller=seller, state="open")
    notices = Notification.objects.filter(kind="review_to_decide").order_by("user__username")
    assert [n.user.username for n in notices] == ["admin", "lead"]  # leads and admins, not the moderator
    note = notices.get(user=world["lead"])
    assert "S-1" in note.subject and "2 strikes" in note.subject and "2 confirmed takedowns" in note.body
    assert note.seller is None and note.email_status == "none"  # the lead has no address: inbox only
    assert notices.get(user__username="admin").email_status == "pending"
    assert Notification.objects.filter(seller=seller, kind="restriction_review").count() == 1

    client.force_login(world["lead"])
    inbox = client.get(reverse("notifications:inbox")).content.decode()
    assert "Restriction review to decide" in inbox and "1 unread" in inbox
    page = client.get(reverse("notifications:notice", args=[note.pk])).content.decode()
    assert reverse("trust:reviews") in page and "S-1" in page
    client.force_login(world["moderator"])
    assert client.get(reverse("notifications:notice", args=[note.pk])).status_code == 403
    client.force_login(make_user("seller1", Role.SELLER, seller=seller))
    assert client.get(reverse("notifications:notice", args=[note.pk])).status_code == 404

    # The decision reaches the seller (restriction), as does closing a later review without one.
    trust_actions.decide_restriction(review.pk, acting_user=world["lead"], restrict=True, note="repeat fakes")
    restricted = Notification.objects.get(seller=seller, kind="restriction")
    assert "restricted" in restricted.subject.lower()
    trust_actions.lift_restriction(review.pk, acting_user=world["lead"])
    second_review = trust_actions.open_restriction_review(seller, strikes=2)
    trust_actions.decide_restriction(second_review.pk, acting_user=world["lead"], restrict=False)
    declined = Notification.objects.filter(seller=seller, kind="restriction_lifted").order_by("-id").first()
    assert "decided not to restrict" in declined.body
    assert Notification.objects.filter(kind="review_to_decide").count() == 4  # two reviews x two leads


@pytest.mark.django_db(transaction=True)
def test_a_lead_sends_again_an_email_whose_worker_died_mid_send(world, celery_worker_real, make_user, client,
                                                                 settings):
    from anticounterfeit.core.models import AuditEvent

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    seller = world["fake"].seller
    type(seller).objects.filter(pk=seller.pk).update(email="seller@example.test")
    seller.refresh_from_db()
    with smtp_server(port) as received:
        sent = notify_seller(seller, "restriction_review", context={"strikes": 3, "window_days": 90})
        wait_for(lambda: Notification.objects.filter(pk=sent.pk, email_status="sent").exists(), timeout=30,
                 message="first notice sent")
        stuck = Notification.objects.create(seller=seller, kind="restriction", subject="Account restricted",
                                            body="...", email_to="seller@example.test", email_status="sending",
                                            email_attempts=1)  # claimed by a worker that then died
        client.force_login(make_user("moderator-2", Role.MODERATOR))
        assert client.get(reverse("emails:log")).status_code == 403
        assert client.post(reverse("emails:resend", args=[stuck.pk])).status_code == 403
        client.force_login(world["lead"])
        page = client.get(reverse("emails:log")).content.decode()
        assert f"Send e-mail {stuck.pk} again" in page and "Account restricted" in page
        assert "repeat-infringer" not in page and f"Send e-mail {sent.pk} again" not in page  # undelivered only
        assert client.post(reverse("emails:resend", args=[sent.pk])).status_code == 302
        assert Notification.objects.get(pk=sent.pk).email_attempts == 1  # a sent e-mail is not sent again
        client.post(reverse("emails:resend", args=[stuck.pk]), {"status": "sending"})
        wait_for(lambda: Notification.objects.filter(pk=stuck.pk, email_status="sent").exists(), timeout=30,
                 message="the stuck e-mail sent again through the worker")
    assert [m["Subject"] for m in received][-1] == "Account restricted" and len(received) == 2
    assert AuditEvent.objects.filter(action="email.resend", actor=world["lead"]).count() == 1
    assert "Every notice e-mail went out." in client.get(reverse("emails:log")).content.decode()

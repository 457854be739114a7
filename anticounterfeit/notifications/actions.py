"""Creating notices and webhook deliveries. The rows are committed first; a worker sends the email or POSTs the
webhook and retries, so a delivery failure never loses the notice."""
import logging
import smtplib
import time
from datetime import timedelta
from enum import StrEnum

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from anticounterfeit.accounts.models import LEAD_ROLES, Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core import audit, queue, tasks

from . import webhook_guard, webhooks
from .models import EMAIL_RESENDABLE_BY_HAND, RETRYABLE_BY_HAND, Notification, WebhookDelivery
from .rendering import email_parts, render_text
from .webhooks import signing_secret

log = logging.getLogger(__name__)


def _create(kind: str, *, context: dict, seller=None, user=None, email: str = "", listing=None, decision=None,
            appeal_deadline=None, acting_user=None) -> Notification:
    context = {"seller": seller, "recipient": user, "listing": listing, "decision": decision,
               "appeal_deadline": appeal_deadline, **context}
    subject = render_text(f"notifications/{kind}_subject.txt", context).strip()
    body = render_text(f"notifications/{kind}.txt", context).strip()
    notification = Notification.objects.create(
        seller=seller, user=user, kind=kind, listing=listing, decision=decision, subject=subject[:200], body=body,
        appeal_deadline=appeal_deadline, email_to=email,
        email_status=Notification.EmailStatus.PENDING if email else Notification.EmailStatus.NONE,
    )
    recipient = seller.seller_key if seller is not None else user.get_username()
    audit.record("notification.create", notification, actor=acting_user, after={"kind": kind, "recipient": recipient})
    if email:
        queue.enqueue(tasks.SEND_NOTIFICATION_EMAIL, notification.pk)
    return notification


@transaction.atomic
def notify_seller(seller, kind: str, *, context: dict, listing=None, decision=None, appeal_deadline=None,
                  acting_user=None) -> Notification:
    return _create(kind, context=context, seller=seller, email=seller.email, listing=listing, decision=decision,
                   appeal_deadline=appeal_deadline, acting_user=acting_user)


@transaction.atomic
def notify_leads(kind: str, *, context: dict, acting_user=None) -> list[Notification]:
    """Every active lead and admin gets the notice in their inbox (and by email when they have an address)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q


    leads = get_user_model().objects.filter(
        Q(profile__role__in=LEAD_ROLES) | Q(is_superuser=True, profile__isnull=True), is_active=True).order_by("pk")
    return [_create(kind, context=context, user=user, email=user.email, acting_user=acting_user) for user in leads]


@transaction.atomic
def notify_brand_owners(brand, kind: str, *, context: dict, listing=None, decision=None,
                        acting_user=None) -> list[Notification]:

    owners = brand.owners.filter(role=Role.BRAND_OWNER).select_related("user")
    return [_create(kind, context={"brand": brand, **context}, user=profile.user, email=profile.user.email,
                    listing=listing, decision=decision, acting_user=acting_user) for profile in owners]


def announce_decision(decision, outcome: str, *, acting_user=None) -> None:
    """Tell the parties outside the console about a decision: the marketplace (webhook, for removals and
    reinstatements) and the brand (for its own reports' outcomes, and whenever a removal is reversed)."""
    case = decision.case
    listing = case.listing
    if outcome in {"removed", "reinstated"}:
        send_webhooks(f"listing.{outcome}", listing=listing, seller=listing.seller, decision=decision)
    if listing.matched_brand is not None and (case.source == "brand_report" or outcome == "reinstated"):
        notify_brand_owners(listing.matched_brand, "report_outcome", listing=listing, decision=decision,
                            acting_user=acting_user,
                            context={"outcome": outcome, "reason": decision.get_reason_code_display()})


def send_webhooks(event: str, *, seller, listing=None, decision=None, extra: dict | None = None) -> list[WebhookDelivery]:
    """Queue a signed POST to the tenant concerned (the listing's client, else the client that registered the
    seller), if it has a webhook URL: another tenant never hears of this seller."""

    clients = MarketplaceClient.objects.filter(pk=listing.client_id if listing is not None else seller.client_id)
    payload = {
        "event": event, "occurred_at": timezone.now().isoformat(), "seller_id": seller.seller_key,
        "listing_id": listing.listing_key if listing is not None else None,
        "decision": ({"id": decision.pk, "action": decision.action, "reason_code": decision.reason_code}
                     if decision is not None else None),
        **(extra or {}),
    }
    deliveries = []
    for client in clients.exclude(webhook_url=""):
        delivery = WebhookDelivery.objects.create(client=client, event=event, url=client.webhook_url, payload=payload)
        audit.record("webhook.queue", delivery, after={"event": event, "client": client.name})
        deliveries.append(delivery)
    queue.enqueue_each(tasks.DELIVER_WEBHOOK, ([delivery.pk] for delivery in deliveries))
    return deliveries


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())


# --- A marketplace client's webhook settings (the client's own API user, or a lead) ---

@transaction.atomic
def reveal_webhook_secret(client, *, acting_user) -> str:
    """Showing the signing secret is audited: whoever holds it can forge our webhooks to the marketplace."""

    audit.record("webhook.secret_reveal", client, actor=acting_user, after={"secret_version": client.secret_version})
    return signing_secret(client)


@transaction.atomic
def rotate_webhook_secret(client, *, acting_user) -> str:
    """A new secret signs every delivery from now on (retries of older ones included); the old one stops verifying."""


    client = MarketplaceClient.objects.select_for_update().get(pk=client.pk)
    before = client.secret_version
    client.secret_version, client.secret_rotated_at = before + 1, timezone.now()
    client.save(update_fields=["secret_version", "secret_rotated_at"])
    audit.record("webhook.secret_rotate", client, actor=acting_user, before={"secret_version": before},
                 after={"secret_version": client.secret_version})
    return signing_secret(client)


@transaction.atomic
def set_webhook_url(client, url: str, *, acting_user) -> None:
    """The URL is validated by the form; failed deliveries that are re-attempted go to the new URL."""
    before = client.webhook_url
    type(client).objects.filter(pk=client.pk).update(webhook_url=url)
    client.webhook_url = url
    audit.record("webhook.url_change", client, actor=acting_user, before={"url": before}, after={"url": url})


@transaction.atomic
def retry_webhook_delivery(delivery: WebhookDelivery, *, acting_user) -> bool:
    """A person asks for one more attempt of a failed, abandoned or interrupted (``sending``) delivery (to the
    client's current URL)."""
    return _queue_again_by_hand(delivery, "status", RETRYABLE_BY_HAND, audit_action="webhook.retry",
                                acting_user=acting_user, task_name=tasks.DELIVER_WEBHOOK, sweep=True)


@transaction.atomic
def resend_email(notification: Notification, *, acting_user) -> bool:
    """A person asks for one more send of an e-mail that gave up or whose worker died mid-send (``sending``)."""
    return _queue_again_by_hand(notification, "email_status", EMAIL_RESENDABLE_BY_HAND, audit_action="email.resend",
                                acting_user=acting_user, task_name=tasks.SEND_NOTIFICATION_EMAIL)


def _queue_again_by_hand(row, status_field: str, allowed, *, audit_action: str, acting_user, task_name: str,
                         **task_kwargs) -> bool:
    """Back to ``pending`` only from an ``allowed`` state (one conditional UPDATE: two clicks queue once), audited."""
    pending = "pending"  # WebhookDelivery.Status.PENDING == Notification.EmailStatus.PENDING
    if not type(row).objects.filter(pk=row.pk, **{f"{status_field}__in": allowed}).update(**{status_field: pending}):
        return False
    audit.record(audit_action, row, actor=acting_user, before={"status": getattr(row, status_field)},
                 after={"status": pending})
    queue.enqueue(task_name, row.pk, **task_kwargs)
    return True


# --- Delivering notices (the notify queue's tasks call these; each attempt is recorded on its row) ---

class Delivery(StrEnum):
    """What one delivery attempt came to; ``RETRY`` asks the calling task to try again after a backoff."""

    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    GAVE_UP = "gave_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    ABANDONED = "abandoned"


def send_notification_email(notification_id: int, *, last_try: bool) -> Delivery:
    """Send a notice's text and HTML e-mail through the configured backend (EMAIL_URL) and record the attempt.

    The send is claimed on the row first (``pending``/``failed`` → ``sending``, one conditional UPDATE): only one
    worker can hold the claim, so a redelivered or republished message never sends again; a worker that dies
    between the mail server's acceptance and the ``sent`` record leaves ``sending`` (at most once, never twice).
    The message carries a stable ``Message-ID`` built from the notice, its idempotency key. A failure leaves the
    notice ``failed`` (``RETRY``); on the ``last_try`` it is ``gave_up`` until the beat sweeper
    (``requeue_stalled_emails``) queues it again.
    """
    status = Notification.EmailStatus
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return Delivery.SKIPPED
    attempts = notification.email_attempts + 1
    claimed = Notification.objects.filter(pk=notification_id, email_status__in=[status.PENDING, status.FAILED]).update(
        email_status=status.SENDING, email_attempts=attempts)
    if not claimed:  # sent, no address, or another worker holds (or died holding) the claim
        return Delivery.SKIPPED
    link = settings.NOTIFY["SITE_URL"].rstrip("/") + reverse("notifications:notice", args=[notification.pk])
    text, html = email_parts(notification, link)
    message = EmailMultiAlternatives(notification.subject, text, settings.DEFAULT_FROM_EMAIL, [notification.email_to],
                                     headers={"Message-ID": email_message_id(notification)})
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        final = status.GAVE_UP if last_try else status.FAILED
        Notification.objects.filter(pk=notification_id).update(email_status=final, email_error=str(exc)[:300])
        if last_try:
            log.warning("email for notice %s failed %s times; the sweeper will queue it again: %s", notification_id,
                        attempts, exc)
            return Delivery.GAVE_UP
        return Delivery.RETRY
    Notification.objects.filter(pk=notification_id).update(email_status=status.SENT, email_error="")
    return Delivery.SENT


def email_message_id(notification: Notification) -> str:
    """The notice's e-mail idempotency key: the same Message-ID on every attempt, so mail systems can dedupe."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<notice-{notification.pk}@{domain}>"


def deliver_webhook(delivery_id: int, *, sweep: bool, last_try: bool) -> Delivery:
    """POST the signed payload and record the attempt; a non-2xx answer or a network error asks for a ``RETRY``.

    After the ``last_try`` the delivery is ``failed``; the sweeper (``requeue_failed_webhooks``) re-attempts it
    later with ``sweep=True``: one try, to the client's current URL, and ``abandoned`` once the sweeps are used up.
    A URL that resolves to an internal address (``webhook_guard``) is ``failed`` at once, with no request made.
    """
    status = WebhookDelivery.Status
    delivery = WebhookDelivery.objects.select_related("client").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in {status.PENDING, status.RETRYING}:
        return Delivery.SKIPPED
    # The claim: one conditional UPDATE, so only one worker POSTs; a worker that dies after the receiver accepted
    # leaves ``sending`` and nothing re-sends it (each POST also carries the delivery's Idempotency-Key).
    if not WebhookDelivery.objects.filter(pk=delivery_id, status=delivery.status).update(status=status.SENDING):
        return Delivery.SKIPPED
    if sweep and not delivery.client.webhook_url:  # the client turned its webhooks off meanwhile
        WebhookDelivery.objects.filter(pk=delivery_id).update(status=status.ABANDONED,
                                                              last_error="the client has no webhook URL any more")
        return Delivery.ABANDONED
    if sweep and delivery.client.webhook_url != delivery.url:
        delivery.url = delivery.client.webhook_url
        WebhookDelivery.objects.filter(pk=delivery_id).update(url=delivery.url)
    body = webhooks.encode(delivery.payload)
    headers = webhooks.headers_for(delivery, body, int(time.time()))
    code, error, refused = None, "", False
    try:  # the guard refuses internal addresses before connecting, and never follows a redirect
        response = webhook_guard.post(delivery.url, data=body, headers=headers,
                                      timeout=settings.NOTIFY["WEBHOOK_TIMEOUT_SECONDS"])
        code = response.status_code
        if 300 <= code < 400:
            error = f"HTTP {code}: redirect to {response.headers.get('Location', '?')[:150]} not followed"
        elif not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
    except webhook_guard.UnsafeWebhookURL as exc:  # not transient: no retries, the client must fix its URL
        error, refused = f"refused, no request sent: {exc}", True
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts, now = delivery.attempts + 1, timezone.now()
    if not error:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=status.DELIVERED, attempts=attempts, last_status_code=code, last_error="", delivered_at=now,
            last_attempt_at=now)
        return Delivery.DELIVERED
    give_up = refused or sweep or last_try
    final = status.ABANDONED if sweep and delivery.sweeps >= settings.NOTIFY["WEBHOOK_MAX_SWEEPS"] else status.FAILED
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=final if give_up else status.RETRYING, attempts=attempts, last_status_code=code,
        last_error=error[:300], last_attempt_at=now)
    if give_up:
        log.warning("webhook delivery %s %s after %s attempts: %s", delivery_id, final, attempts, error)
        return Delivery(str(final))
    return Delivery.RETRY


@transaction.atomic
def requeue_failed_webhooks(limit: int = 200) -> int:
    """Re-attempt deliveries that used up their retries, once each after WEBHOOK_SWEEP_AFTER_SECONDS × 2^sweeps
    (the receiver may have been down for hours), at most WEBHOOK_MAX_SWEEPS times; then they are abandoned."""
    cfg, now, status = settings.NOTIFY, timezone.now(), WebhookDelivery.Status
    after = timedelta(seconds=cfg["WEBHOOK_SWEEP_AFTER_SECONDS"])
    failed = WebhookDelivery.objects.filter(status=status.FAILED).annotate(
        last=Coalesce("last_attempt_at", "created_at")).filter(last__lte=now - after)
    queued = 0
    for pk, sweeps, last in failed.order_by("last").values_list("pk", "sweeps", "last")[:limit]:
        if sweeps >= cfg["WEBHOOK_MAX_SWEEPS"]:  # the limit was lowered since it failed
            WebhookDelivery.objects.filter(pk=pk, status=status.FAILED).update(status=status.ABANDONED)
            continue
        if last > now - after * 2 ** sweeps:
            continue
        if WebhookDelivery.objects.filter(pk=pk, status=status.FAILED, sweeps=sweeps).update(
                status=status.PENDING, sweeps=sweeps + 1):
            queue.enqueue(tasks.DELIVER_WEBHOOK, pk, sweep=True)
            queued += 1
    return queued


@transaction.atomic
def requeue_stalled_emails(limit: int = 500) -> int:
    """E-mails that used up their retries (e.g. a long SMTP outage) are queued again, each exactly once."""
    status = Notification.EmailStatus
    ids = list(Notification.objects.select_for_update(skip_locked=True).filter(email_status=status.GAVE_UP)
               .values_list("pk", flat=True)[:limit])
    Notification.objects.filter(pk__in=ids).update(email_status=status.PENDING)
    queue.enqueue_each(tasks.SEND_NOTIFICATION_EMAIL, ([pk] for pk in ids))
    return len(ids)

"""Delivering notices: the ``notify`` queue. The inbox rows and webhook records already exist; these tasks only
deliver them, retrying with exponential backoff, and record each attempt."""
import logging
import random
import smtplib
import time

from celery import shared_task

log = logging.getLogger(__name__)


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, from settings.NOTIFY (one policy for email and webhooks)."""
    from django.conf import settings

    cfg = settings.NOTIFY
    delay = min(cfg["RETRY_BASE_SECONDS"] * 2 ** retries, cfg["RETRY_MAX_SECONDS"])
    return delay * random.uniform(0.8, 1.2)


def _max_retries() -> int:
    from django.conf import settings

    return settings.NOTIFY["MAX_RETRIES"]


@shared_task(name="workers.notify.send_notification_email", bind=True, acks_late=True, max_retries=None)
def send_notification_email(self, notification_id: int) -> str:
    """Text and HTML email through the configured backend (EMAIL_URL). A failure leaves the notice in the inbox
    with ``failed`` status and retries with backoff; after the last retry it is ``gave_up`` until the beat sweeper
    (``resend_stalled_emails``) queues it again."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.urls import reverse

    from anticounterfeit.notifications.models import Notification
    from anticounterfeit.notifications.rendering import email_parts

    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.email_status in {Notification.EmailStatus.SENT, Notification.EmailStatus.NONE}:
        return "skipped"
    link = settings.NOTIFY["SITE_URL"].rstrip("/") + reverse("notifications:notice", args=[notification.pk])
    text, html = email_parts(notification, link)
    message = EmailMultiAlternatives(notification.subject, text, settings.DEFAULT_FROM_EMAIL, [notification.email_to])
    message.attach_alternative(html, "text/html")
    attempts = notification.email_attempts + 1
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        give_up = self.request.retries >= _max_retries() or self.request.is_eager  # embedded mode: no broker to retry on
        Notification.objects.filter(pk=notification_id).update(
            email_status=Notification.EmailStatus.GAVE_UP if give_up else Notification.EmailStatus.FAILED,
            email_attempts=attempts, email_error=str(exc)[:300])
        if give_up:
            log.warning("email for notice %s failed %s times; the sweeper will queue it again: %s", notification_id,
                        attempts, exc)
            return "gave_up"
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    Notification.objects.filter(pk=notification_id).update(
        email_status=Notification.EmailStatus.SENT, email_attempts=attempts, email_error="")
    return "sent"


@shared_task(name="workers.notify.deliver_webhook", bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int, sweep: bool = False) -> str:
    """POST the signed payload; any non-2xx answer or network error is recorded and retried with backoff.

    After the last retry the delivery is ``failed``; the sweeper (``sweep_failed_webhooks``) re-attempts it later
    with ``sweep=True``: one try, to the client's current URL, and ``abandoned`` once the sweeps are used up.
    A URL that resolves to an internal address (notifications.webhook_guard) is ``failed`` at once, with no request
    made and no retries.
    """
    import requests
    from django.conf import settings
    from django.utils import timezone

    from anticounterfeit.notifications import webhook_guard, webhooks
    from anticounterfeit.notifications.models import WebhookDelivery

    status = WebhookDelivery.Status
    delivery = WebhookDelivery.objects.select_related("client").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in {status.DELIVERED, status.FAILED, status.ABANDONED}:
        return "skipped"
    if sweep and not delivery.client.webhook_url:  # the client turned its webhooks off meanwhile
        WebhookDelivery.objects.filter(pk=delivery_id).update(status=status.ABANDONED,
                                                              last_error="the client has no webhook URL any more")
        return str(status.ABANDONED)
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
        return "delivered"
    give_up = refused or sweep or self.request.retries >= _max_retries() or self.request.is_eager  # eager: no broker
    final = status.ABANDONED if sweep and delivery.sweeps >= settings.NOTIFY["WEBHOOK_MAX_SWEEPS"] else status.FAILED
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=final if give_up else status.RETRYING, attempts=attempts, last_status_code=code,
        last_error=error[:300], last_attempt_at=now)
    if give_up:
        log.warning("webhook delivery %s %s after %s attempts: %s", delivery_id, final, attempts, error)
        return str(final)
    raise self.retry(countdown=backoff(self.request.retries))


@shared_task(name="workers.notify.sweep_failed_webhooks")
def sweep_failed_webhooks(limit: int = 200) -> int:
    """Beat: re-attempt deliveries that used up their retries, once each after WEBHOOK_SWEEP_AFTER_SECONDS × 2^sweeps
    (the receiver may have been down for hours), at most WEBHOOK_MAX_SWEEPS times; then they are abandoned."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from anticounterfeit.notifications.models import WebhookDelivery

    from .enqueue import send_quietly

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
        claimed = WebhookDelivery.objects.filter(pk=pk, status=status.FAILED, sweeps=sweeps).update(
            status=status.PENDING, sweeps=sweeps + 1)
        if not claimed:
            continue
        if send_quietly(deliver_webhook, pk, sweep=True):
            queued += 1
        else:  # broker down: leave it for the next sweep
            WebhookDelivery.objects.filter(pk=pk, status=status.PENDING).update(status=status.FAILED, sweeps=sweeps)
    return queued



@shared_task(name="workers.notify.resend_stalled_emails")
def resend_stalled_emails(limit: int = 500) -> int:
    """Beat: emails that used up their retries (e.g. a long SMTP outage) are queued again, each exactly once."""
    from anticounterfeit.notifications.models import Notification

    status = Notification.EmailStatus
    queued = 0
    for pk in Notification.objects.filter(email_status=status.GAVE_UP).values_list("pk", flat=True)[:limit]:
        if Notification.objects.filter(pk=pk, email_status=status.GAVE_UP).update(email_status=status.PENDING):
            send_notification_email.delay(pk)
            queued += 1
    return queued

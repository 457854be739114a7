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
    from django.template.loader import render_to_string
    from django.urls import reverse

    from anticounterfeit.notifications.models import Notification

    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.email_status in {Notification.EmailStatus.SENT, Notification.EmailStatus.NONE}:
        return "skipped"
    link = settings.NOTIFY["SITE_URL"].rstrip("/") + reverse("notifications:notice", args=[notification.pk])
    context = {"notification": notification, "link": link}
    message = EmailMultiAlternatives(notification.subject, render_to_string("notifications/email.txt", context),
                                     settings.DEFAULT_FROM_EMAIL, [notification.email_to])
    message.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
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
def deliver_webhook(self, delivery_id: int) -> str:
    """POST the signed payload; any non-2xx answer or network error is recorded and retried with backoff."""
    import requests
    from django.conf import settings
    from django.utils import timezone

    from anticounterfeit.notifications import webhooks
    from anticounterfeit.notifications.models import WebhookDelivery

    delivery = WebhookDelivery.objects.select_related("client").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in {WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED}:
        return "skipped"
    body = webhooks.encode(delivery.payload)
    headers = webhooks.headers_for(delivery, body, int(time.time()))
    code, error = None, ""
    try:
        response = requests.post(delivery.url, data=body, headers=headers,
                                 timeout=settings.NOTIFY["WEBHOOK_TIMEOUT_SECONDS"], allow_redirects=False)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts = delivery.attempts + 1
    if not error:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.DELIVERED, attempts=attempts, last_status_code=code, last_error="",
            delivered_at=timezone.now())
        return "delivered"
    give_up = self.request.retries >= _max_retries() or self.request.is_eager  # embedded mode: no broker to retry on
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.FAILED if give_up else WebhookDelivery.Status.RETRYING, attempts=attempts,
        last_status_code=code, last_error=error[:300])
    if give_up:
        log.warning("webhook delivery %s gave up after %s attempts: %s", delivery_id, attempts, error)
        return "failed"
    raise self.retry(countdown=backoff(self.request.retries))



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

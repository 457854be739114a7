"""Emailing notices: the ``notify`` queue. The inbox row already exists; this only delivers it."""
import logging
import smtplib

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="workers.notify.send_notification_email", bind=True, acks_late=True, max_retries=6)
def send_notification_email(self, notification_id: int) -> str:
    from django.core.mail import send_mail

    from anticounterfeit.notifications.models import Notification

    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.email_status in {Notification.EmailStatus.SENT, Notification.EmailStatus.NONE}:
        return "skipped"
    try:
        send_mail(notification.subject, notification.body, None, [notification.email_to])
    except (smtplib.SMTPException, OSError) as exc:
        Notification.objects.filter(pk=notification_id).update(
            email_status=Notification.EmailStatus.FAILED, email_attempts=notification.email_attempts + 1,
            email_error=str(exc)[:300],
        )
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries * 5, 600)) from exc
    Notification.objects.filter(pk=notification_id).update(
        email_status=Notification.EmailStatus.SENT, email_attempts=notification.email_attempts + 1, email_error=""
    )
    return "sent"

"""Delivering notices: the ``notify`` queue. The inbox rows and webhook records already exist; these tasks
deliver them through ``notifications.actions``, retrying with exponential backoff.

These two tasks are acknowledged on receipt (``acks_late=False``): a worker killed after the mail server or the
receiver accepted must not get the message again. Each send is claimed on its row first (``sending``), so a
republished message does not send twice either; a claim whose worker died is left for a person to check.
"""
import random

from celery import shared_task
from django.conf import settings

from anticounterfeit.notifications import actions
from anticounterfeit.notifications.actions import Delivery


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, from settings.NOTIFY (one policy for email and webhooks)."""
    cfg = settings.NOTIFY
    delay = min(cfg["RETRY_BASE_SECONDS"] * 2 ** retries, cfg["RETRY_MAX_SECONDS"])
    return delay * random.uniform(0.8, 1.2)


def _last_try(task) -> bool:
    # Eager (embedded mode): there is no broker to retry on.
    return task.request.retries >= settings.NOTIFY["MAX_RETRIES"] or bool(task.request.is_eager)


@shared_task(name="workers.notify.send_notification_email", bind=True, acks_late=False, max_retries=None)
def send_notification_email(self, notification_id: int) -> str:
    outcome = actions.send_notification_email(notification_id, last_try=_last_try(self))
    if outcome is Delivery.RETRY:
        raise self.retry(countdown=backoff(self.request.retries))
    return str(outcome)


@shared_task(name="workers.notify.deliver_webhook", bind=True, acks_late=False, max_retries=None)
def deliver_webhook(self, delivery_id: int, sweep: bool = False) -> str:
    outcome = actions.deliver_webhook(delivery_id, sweep=sweep, last_try=_last_try(self))
    if outcome is Delivery.RETRY:
        raise self.retry(countdown=backoff(self.request.retries))
    return str(outcome)


@shared_task(name="workers.notify.sweep_failed_webhooks")
def sweep_failed_webhooks(limit: int = 200) -> int:
    return actions.requeue_failed_webhooks(limit)


@shared_task(name="workers.notify.resend_stalled_emails")
def resend_stalled_emails(limit: int = 500) -> int:
    return actions.requeue_stalled_emails(limit)

"""Creating notices. The inbox row is committed first; the email is sent by a worker and retried,
so a mail failure never loses the notice."""
from django.db import transaction
from django.template.loader import render_to_string

from anticounterfeit.core import audit

from .models import Notification


@transaction.atomic
def notify_seller(seller, kind: str, *, context: dict, listing=None, decision=None, appeal_deadline=None,
                  acting_user=None) -> Notification:
    context = {"seller": seller, "listing": listing, "decision": decision, "appeal_deadline": appeal_deadline, **context}
    subject = render_to_string(f"notifications/{kind}_subject.txt", context).strip()
    body = render_to_string(f"notifications/{kind}.txt", context).strip()
    notification = Notification.objects.create(
        seller=seller, kind=kind, listing=listing, decision=decision, subject=subject, body=body,
        appeal_deadline=appeal_deadline, email_to=seller.email,
        email_status=Notification.EmailStatus.PENDING if seller.email else Notification.EmailStatus.NONE,
    )
    audit.record("notification.create", notification, actor=acting_user, after={"kind": kind, "seller": seller.seller_key})
    if seller.email:
        from workers.notify import send_notification_email

        transaction.on_commit(lambda: send_notification_email.delay(notification.pk))
    return notification


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        from django.utils import timezone

        Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())

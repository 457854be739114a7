"""Creating notices and webhook deliveries. The rows are committed first; a worker sends the email or POSTs the
webhook and retries, so a delivery failure never loses the notice."""
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit

from .models import Notification, WebhookDelivery
from .rendering import render_text


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
        from workers.notify import send_notification_email

        transaction.on_commit(lambda: send_notification_email.delay(notification.pk))
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

    from anticounterfeit.accounts.models import LEAD_ROLES

    leads = get_user_model().objects.filter(
        Q(profile__role__in=LEAD_ROLES) | Q(is_superuser=True, profile__isnull=True), is_active=True).order_by("pk")
    return [_create(kind, context=context, user=user, email=user.email, acting_user=acting_user) for user in leads]


@transaction.atomic
def notify_brand_owners(brand, kind: str, *, context: dict, listing=None, decision=None,
                        acting_user=None) -> list[Notification]:
    from anticounterfeit.accounts.models import Role

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
    """Queue one signed POST per marketplace client concerned (the listing's client, or every client that sent
    this seller's listings) that has a webhook URL."""
    from anticounterfeit.api.models import MarketplaceClient

    if listing is not None:
        clients = MarketplaceClient.objects.filter(pk=listing.client_id)
    else:
        clients = MarketplaceClient.objects.filter(listing__seller=seller).distinct()
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
    if deliveries:
        from workers.notify import deliver_webhook

        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [deliver_webhook.delay(pk) for pk in ids])
    return deliveries


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())


# --- A marketplace client's webhook settings (the client's own API user, or a lead) ---

@transaction.atomic
def reveal_webhook_secret(client, *, acting_user) -> str:
    """Showing the signing secret is audited: whoever holds it can forge our webhooks to the marketplace."""
    from .webhooks import signing_secret

    audit.record("webhook.secret_reveal", client, actor=acting_user, after={"secret_version": client.secret_version})
    return signing_secret(client)


@transaction.atomic
def rotate_webhook_secret(client, *, acting_user) -> str:
    """A new secret signs every delivery from now on (retries of older ones included); the old one stops verifying."""
    from anticounterfeit.api.models import MarketplaceClient

    from .webhooks import signing_secret

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
    """A person asks for one more attempt of a failed or abandoned delivery (to the client's current URL)."""
    from workers.enqueue import enqueue_on_commit
    from workers.notify import deliver_webhook

    done = {WebhookDelivery.Status.FAILED, WebhookDelivery.Status.ABANDONED}
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status__in=done).update(
        status=WebhookDelivery.Status.PENDING)
    if not updated:
        return False
    audit.record("webhook.retry", delivery, actor=acting_user, before={"status": delivery.status},
                 after={"status": WebhookDelivery.Status.PENDING})
    enqueue_on_commit(deliver_webhook, delivery.pk, sweep=True)
    return True

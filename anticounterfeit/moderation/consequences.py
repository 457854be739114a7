"""What a decision set off, as the case page shows it: the seller's notice and its e-mail, the marketplace webhooks,
the counterfeit bank and the trust rating. The decision answers at once; the page polls this list until the
queued parts have arrived (or failed), so a moderator sees each consequence land."""
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from anticounterfeit.core.labels import short_label
from anticounterfeit.detection.bank_deltas import counterfeit_bank_id
from anticounterfeit.detection.models import BankDelta
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from anticounterfeit.trust.models import TrustEvent

from .models import Decision

POLL_FOR = timedelta(minutes=2)  # after this the page stops polling: what is still pending is the sweepers' now

EMAIL_STATE = {Notification.EmailStatus.SENT: "done", Notification.EmailStatus.NONE: "done",
               Notification.EmailStatus.GAVE_UP: "failed"}
WEBHOOK_STATE = {WebhookDelivery.Status.DELIVERED: "done", WebhookDelivery.Status.FAILED: "failed",
                 WebhookDelivery.Status.ABANDONED: "failed"}


@dataclass(frozen=True)
class Consequence:
    what: str
    state: str  # done | pending | failed
    detail: str


def of_decision(decision: Decision) -> list[Consequence]:
    listing = decision.case.listing
    found = []
    for event in TrustEvent.objects.filter(decision=decision).order_by("pk"):
        found.append(Consequence("Trust rating", "done",
                                 f"{event.get_kind_display()}: now {event.rating_after}"))
    for note in Notification.objects.filter(decision=decision).order_by("pk"):
        to = "seller" if note.seller_id else "brand owner" if note.user_id else "recipient"
        found.append(Consequence(f"Notice to the {to}", EMAIL_STATE.get(note.email_status, "pending"),
                                 "in the inbox; " + ("no e-mail address on file"
                                                     if note.email_status == Notification.EmailStatus.NONE else
                                                     f"e-mail {short_label(note.get_email_status_display()).lower()}")))
    for delivery in WebhookDelivery.objects.filter(payload__decision__id=decision.pk).select_related("client"):
        found.append(Consequence(f"Webhook to {delivery.client.name}", WEBHOOK_STATE.get(delivery.status, "pending"),
                                 f"{delivery.event}: {short_label(delivery.get_status_display()).lower()}"))
    if decision.action == Decision.Action.TAKEDOWN:
        added = BankDelta.objects.filter(op=BankDelta.Op.ADD_COUNTERFEIT,
                                         source_key=counterfeit_bank_id(listing)).first()
        found.append(Consequence("Counterfeit bank", "done" if added else "pending",
                                 f"added (delta #{added.pk}): re-uploads of these images are caught" if added
                                 else "computing the images' features first"))
    return found


def still_arriving(decision: Decision, found: list[Consequence]) -> bool:
    """Whether the page should poll again."""
    return (any(c.state == "pending" for c in found)
            and timezone.now() - decision.created_at < POLL_FOR)

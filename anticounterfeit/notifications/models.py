"""Notices to sellers and brand owners: an in-app inbox row that is also emailed."""
from django.db import models

from anticounterfeit.accounts.models import seller_of


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user) -> "NotificationQuerySet":
        seller = seller_of(user)
        if seller is not None:
            return self.filter(seller=seller)
        return self.filter(user=user) if getattr(user, "is_authenticated", False) else self.none()


class Notification(models.Model):
    class Kind(models.TextChoices):
        TAKEDOWN = "takedown", "Listing removed"
        APPEAL_OUTCOME = "appeal_outcome", "Appeal decided"
        REINSTATEMENT = "reinstatement", "Listing reinstated"
        RESTRICTION_REVIEW = "restriction_review", "Restriction review opened"
        RESTRICTION = "restriction", "Account restriction"
        RESTRICTION_LIFTED = "restriction_lifted", "Restriction lifted"
        REPORT_OUTCOME = "report_outcome", "Outcome of a report on your brand"
        REVIEW_TO_DECIDE = "review_to_decide", "Restriction review to decide"

    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed; if it stays, the worker died mid-send: check before resending)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        GAVE_UP = "gave_up", "Failed repeatedly (the sweeper queues it again)"
        NONE = "none", "No email address"

    seller = models.ForeignKey("listings.Seller", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    listing = models.ForeignKey("listings.Listing", null=True, blank=True, on_delete=models.SET_NULL)
    decision = models.ForeignKey("moderation.Decision", null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    appeal_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_to = models.EmailField(blank=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class WebhookDelivery(models.Model):
    """One decision POSTed to a marketplace client's webhook URL (HMAC-signed), with its delivery record."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed; if it stays, the worker died mid-send: check before resending)"
        RETRYING = "retrying", "Failed, will retry"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (the sweeper tries again later)"
        ABANDONED = "abandoned", "Abandoned (every attempt failed)"

    client = models.ForeignKey("api.MarketplaceClient", on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=40)
    url = models.URLField()
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sweeps = models.PositiveSmallIntegerField(default=0, help_text="Re-attempts by the beat sweeper after giving up.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.client} ({self.status})"


# E-mails a person may send again by hand: given up (the sweeper would queue them later anyway) and claimed sends
# whose worker died (the outcome is unknown; the stable Message-ID lets mail systems drop a repeat).
EMAIL_RESENDABLE_BY_HAND = frozenset({Notification.EmailStatus.GAVE_UP, Notification.EmailStatus.SENDING})

# What a person may send again by hand ("retry now"): failed and abandoned deliveries, and a claimed send whose
# worker died (its outcome is unknown; the receiver drops a repeat by its Idempotency-Key).
RETRYABLE_BY_HAND = frozenset({WebhookDelivery.Status.FAILED, WebhookDelivery.Status.ABANDONED,
                               WebhookDelivery.Status.SENDING})

"""What the marketplace owes the law for its decisions: statements of reasons (DSA Art. 17) and their
submissions to the Commission's Transparency Database (Art. 24(5)).

A separate app, not part of moderation: a statement is written for takedowns from two places (moderators'
decisions and brands' self-service removals), has its own export, submitter and report, and must stay as it was
issued even when the decision's case is reworked. Moderation only calls ``compliance.actions.record_statement``.
"""
from django.db import models

from anticounterfeit.accounts.models import Role, is_lead, role_of, seller_of


class StatementQuerySet(models.QuerySet):
    def visible_to(self, user) -> "StatementQuerySet":
        if is_lead(user):
            return self
        role = role_of(user)
        if role == Role.SELLER:
            seller = seller_of(user)
            return self.filter(seller=seller) if seller else self.none()
        if role == Role.API_CLIENT:
            return self.filter(client__user=user)
        return self.none()


class StatementOfReasons(models.Model):
    """One takedown's statement, issued in the decision's transaction. ``payload`` is the Transparency Database
    statement object exactly as exported (validated before it was stored); the other columns are for the
    seller's view and the transparency report."""

    decision = models.OneToOneField("moderation.Decision", on_delete=models.PROTECT, related_name="statement")
    listing = models.ForeignKey("listings.Listing", on_delete=models.PROTECT, related_name="statements")
    seller = models.ForeignKey("listings.Seller", on_delete=models.PROTECT, related_name="statements")
    client = models.ForeignKey("api.MarketplaceClient", null=True, blank=True, on_delete=models.PROTECT)
    puid = models.CharField(max_length=500, unique=True)
    payload = models.JSONField()
    restriction = models.CharField(max_length=60)
    ground = models.CharField(max_length=60, db_index=True)
    category = models.CharField(max_length=80)
    automated_detection = models.BooleanField()
    automated_decision = models.CharField(max_length=40)
    facts = models.TextField(help_text="the facts relied on, as the seller reads them")
    redress = models.TextField(help_text="how the seller can contest the decision, with the deadline")
    appeal_deadline = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True, help_text="when the listing was first flagged")
    decided_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    database_uuid = models.CharField(max_length=64, blank=True, help_text="the Transparency Database's id")
    submission_error = models.CharField(max_length=500, blank=True)

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"statement of reasons {self.puid}"


class StatementSubmission(models.Model):
    """One batch POSTed to the Transparency Database (all its attempts), and what it accepted."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected (invalid statements)"
        FAILED = "failed", "Failed after retries"

    endpoint = models.URLField()
    statements = models.ManyToManyField(StatementOfReasons, related_name="submissions")
    status = models.CharField(max_length=10, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"submission #{self.pk} ({self.status}, {self.accepted} accepted)"

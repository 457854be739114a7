"""The moderation queue: cases, the decisions moderators take on them, and sellers' appeals."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from anticounterfeit.accounts.models import Role, brand_ids_of, is_staff_role, role_of, seller_of


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CaseQuerySet":
        if is_staff_role(user):
            return self
        if role_of(user) == Role.BRAND_OWNER:
            return self.filter(listing__matched_brand_id__in=brand_ids_of(user))
        return self.none()

    def open(self) -> "CaseQuerySet":
        return self.filter(state__in=[Case.State.OPEN, Case.State.ESCALATED])


class Case(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        ESCALATED = "escalated", "Escalated to lead"
        DECIDED = "decided", "Decided"

    class Source(models.TextChoices):
        SCAN = "scan", "Automatic scan"
        BRAND_REPORT = "brand_report", "Brand report"

    listing = models.ForeignKey("listings.Listing", on_delete=models.CASCADE, related_name="cases")
    detection = models.ForeignKey("detection.Detection", null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SCAN)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    priority = models.FloatField(default=0.0)
    high_priority = models.BooleanField(default=False)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)  # set by open_or_update_case, which ranks by it
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "opened_at"]
        indexes = [models.Index(fields=["state", "-priority", "opened_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["listing"], condition=Q(state__in=["open", "escalated"]), name="one_open_case_per_listing"
            )
        ]

    def __str__(self) -> str:
        return f"case #{self.pk} · {self.listing.listing_key}"


class ReasonCode(models.TextChoices):
    COUNTERFEIT = "counterfeit", "Counterfeit product"
    TRADEMARK_MISUSE = "trademark_misuse", "Trademark misuse in the listing"
    UNAUTHORIZED_IMAGES = "unauthorized_images", "Brand's copyrighted images used without permission"
    GENUINE = "genuine", "Authorized or genuine product"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", "Insufficient evidence"
    NEEDS_LEAD = "needs_lead", "Needs a lead's judgement"


TAKEDOWN_REASONS = [ReasonCode.COUNTERFEIT, ReasonCode.TRADEMARK_MISUSE, ReasonCode.UNAUTHORIZED_IMAGES]
DISMISS_REASONS = [ReasonCode.GENUINE, ReasonCode.INSUFFICIENT_EVIDENCE]


class Decision(models.Model):
    class Action(models.TextChoices):
        TAKEDOWN = "takedown", "Take down"
        DISMISS = "dismiss", "Dismiss"
        ESCALATE = "escalate", "Escalate"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    reason_code = models.CharField(max_length=24, choices=ReasonCode.choices)
    note = models.TextField(blank=True)
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} case #{self.case_id} ({self.reason_code})"


class AppealQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AppealQuerySet":
        if is_staff_role(user):
            return self
        seller = seller_of(user)
        return self.filter(seller=seller) if seller else self.none()


class Appeal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Takedown upheld"
        REINSTATED = "reinstated", "Listing reinstated"

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="appeals")
    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="appeals")
    statement = models.TextField()
    evidence = models.FileField(upload_to="appeals/%Y/%m/", blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["decision"], condition=Q(status="open"), name="one_open_appeal_per_decision")
        ]

    def __str__(self) -> str:
        return f"appeal #{self.pk} on {self.decision}"


class GoldenCase(models.Model):
    """A decided case a lead marked as a reference answer: moderators get it again, blind, to measure accuracy."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="golden")
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="+",
                                 help_text="the reference answer (the case's final decision when marked)")
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"golden case #{self.case_id}"


class QAReviewQuerySet(models.QuerySet):
    def for_reviewer(self, user) -> "QAReviewQuerySet":
        """Pending reviews this moderator may answer: assigned to them, never on their own decision."""
        return self.filter(answered_at__isnull=True, reviewer=user)


class QAReview(models.Model):
    """A blind second review: another moderator answers a case without seeing the decision it is compared with
    (a sampled decision, or a golden case's reference answer). Disagreements go to a lead."""

    class Kind(models.TextChoices):
        SAMPLE = "sample", "Sampled decision"
        GOLDEN = "golden", "Golden case"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the second review"
        AGREE = "agree", "Agrees"
        DISAGREE = "disagree", "Disagrees (a lead decides)"

    class Resolution(models.TextChoices):
        NONE = "", "—"
        FIRST = "first", "The first decision was right"
        SECOND = "second", "The second review was right"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="qa_reviews")
    reference = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="qa_reviews",
                                  help_text="the decision the answer is compared with")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qa_reviews")
    answer_action = models.CharField(max_length=10, choices=Decision.Action.choices, blank=True)
    answer_reason = models.CharField(max_length=24, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING, db_index=True)
    resolution = models.CharField(max_length=8, choices=Resolution.choices, blank=True, default="")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = QAReviewQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["reference", "reviewer"], name="one_qa_review_per_reviewer")]

    def __str__(self) -> str:
        return f"QA review #{self.pk} of case #{self.case_id} ({self.kind})"

"""Seller trust history. The rating is always a function of these rows (see trust.rating)."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from anticounterfeit.accounts.models import is_staff_role, seller_of


class TrustEvent(models.Model):
    class Kind(models.TextChoices):
        HISTORY = "history", "Account history at onboarding"
        TAKEDOWN = "takedown", "Confirmed counterfeit takedown"
        BRAND_REMOVAL = "brand_removal", "Removal by a brand (self-service)"
        DISMISSED_FLAG = "dismissed_flag", "Flag dismissed by a moderator"
        CLEAN_SALES = "clean_sales", "Sales without complaints"
        LINKED = "linked_seller", "Shares images with a confirmed counterfeit listing"
        REINSTATED = "reinstated", "Takedown reversed on appeal"
        LINK_REMOVED = "link_removed", "Image link removed (the counterfeit was reinstated)"
        ACCOUNT_AGE = "account_age", "Another month of trading on the marketplace"

    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="trust_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    good = models.FloatField(default=0.0, help_text="Evidence of honest trading (Beta alpha increment).")
    bad = models.FloatField(default=0.0, help_text="Evidence of infringement (Beta beta increment).")
    occurred_at = models.DateTimeField(db_index=True)
    decision = models.ForeignKey("moderation.Decision", null=True, blank=True, on_delete=models.SET_NULL)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reversed_by")
    note = models.CharField(max_length=200, blank=True)
    rating_after = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # One tenure credit per seller and period ("month N"): the beat task can run any number of times.
            models.UniqueConstraint(fields=["seller", "note"], condition=Q(kind="account_age"),
                                    name="one_account_age_credit_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.seller_id} at {self.occurred_at:%Y-%m-%d}"


class CleanSalesReport(models.Model):
    """A marketplace's report of a seller's completed sales without complaints (API). The client's own
    ``report_key`` makes it idempotent: a retried request finds this row instead of counting the sales twice."""

    client = models.ForeignKey("api.MarketplaceClient", on_delete=models.CASCADE, related_name="sales_reports")
    report_key = models.CharField("report id", max_length=64)
    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="sales_reports")
    count = models.PositiveIntegerField()
    period_end = models.DateField()
    event = models.OneToOneField(TrustEvent, null=True, on_delete=models.SET_NULL, related_name="sales_report")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client", "report_key"], name="uniq_sales_report_per_client")]

    def __str__(self) -> str:
        return f"sales report {self.report_key}: {self.count} for {self.seller_id}"


class RestrictionReviewQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RestrictionReviewQuerySet":
        if is_staff_role(user):
            return self
        seller = seller_of(user)
        return self.filter(seller=seller) if seller else self.none()


class RestrictionReview(models.Model):
    """Opened by the repeat-infringer policy; a lead restricts the seller or declines, and may lift later."""

    class State(models.TextChoices):
        OPEN = "open", "Awaiting a lead"
        RESTRICTED = "restricted", "Seller restricted"
        DECLINED = "declined", "No restriction"
        LIFTED = "lifted", "Restriction lifted"

    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="restriction_reviews")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    strikes = models.PositiveSmallIntegerField(help_text="Confirmed takedowns inside the window when opened.")
    window_days = models.PositiveSmallIntegerField()
    opened_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = RestrictionReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["seller"], condition=Q(state="open"), name="one_open_review_per_seller")
        ]

    def __str__(self) -> str:
        return f"restriction review #{self.pk} · {self.seller.seller_key}"


class SellerLink(models.Model):
    """``seller``'s listing shares a (near-)identical image with ``source_listing``, a confirmed counterfeit of another
    seller of the same tenant. A shared image is evidence for a moderator (case page, seller card), not a strike:
    only a moderator's confirmation (``state`` confirmed) enters ``seller``'s rating as a ``linked_seller`` event,
    because anyone can copy a competitor's photos."""

    class Via(models.TextChoices):
        PDQ = "pdq", "Perceptual hash (PDQ)"
        VECTOR = "vector", "Image vector"

    class State(models.TextChoices):
        SUGGESTED = "suggested", "Shared image, to review"
        CONFIRMED = "confirmed", "Link confirmed by a moderator"
        DISMISSED = "dismissed", "Not linked (dismissed)"

    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="links")
    listing = models.ForeignKey("listings.Listing", on_delete=models.CASCADE, related_name="+")
    linked_seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="+")
    source_listing = models.ForeignKey("listings.Listing", on_delete=models.CASCADE, related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)
    similarity = models.FloatField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUGGESTED, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["listing", "source_listing"], name="uniq_seller_link")]

    def __str__(self) -> str:
        return f"{self.seller.seller_key} ↔ {self.linked_seller.seller_key}"


class SellerIdentityLink(models.Model):
    """Staff's statement that two seller records (usually of different tenants) are one real-world seller.

    Made explicitly by staff and audited; colliding ids never link sellers. It moves no rating: each tenant's
    rating stays a function of that tenant's own events."""

    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="identity_links")
    other = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["seller", "other"], name="uniq_seller_identity_link"),
                       models.CheckConstraint(condition=~Q(seller=models.F("other")), name="identity_link_two_sellers")]

    def __str__(self) -> str:
        return f"{self.seller} = {self.other}"

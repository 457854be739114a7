"""Seller trust history. The rating is always a function of these rows (see trust.rating)."""
from django.db import models


class TrustEvent(models.Model):
    class Kind(models.TextChoices):
        HISTORY = "history", "Account history at onboarding"
        TAKEDOWN = "takedown", "Confirmed counterfeit takedown"
        BRAND_REMOVAL = "brand_removal", "Removal by a brand (self-service)"
        DISMISSED_FLAG = "dismissed_flag", "Flag dismissed by a moderator"
        REINSTATED = "reinstated", "Takedown reversed on appeal"

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

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.seller_id} at {self.occurred_at:%Y-%m-%d}"

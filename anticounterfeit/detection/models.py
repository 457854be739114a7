"""Scorer versions trained from moderator decisions; exactly one (or none: the shipped default) is active."""
from django.conf import settings
from django.db import models


class ScorerVersion(models.Model):
    """One trained scorer, stored as its JSON document (``ml.scorer.Scorer.to_dict``) — no pickles, no files.

    Versions are never deleted, so a rollback is just activating an older row.
    """

    number = models.PositiveIntegerField(unique=True)
    version = models.CharField(max_length=40, help_text="the scorer's own content hash")
    document = models.JSONField()
    is_active = models.BooleanField(default=False)
    n_decisions = models.PositiveIntegerField(default=0)
    n_counterfeit = models.PositiveIntegerField(default=0)
    last_decision_id = models.PositiveBigIntegerField(default=0, help_text="newest Decision used in training")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                               name="one_active_scorer_version")]

    def __str__(self) -> str:
        return f"scorer v{self.number} ({self.version}{', active' if self.is_active else ''})"


class BrandPolicy(models.Model):
    """Per-brand override of the review threshold (blank = the global DetectionPolicy value)."""

    brand = models.OneToOneField("catalog.Brand", on_delete=models.CASCADE, related_name="detection_policy")
    review_threshold = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"policy for {self.brand}: review ≥ {self.review_threshold}"


class AllowRuleQuerySet(models.QuerySet):
    def matching(self, listing, ref_keys: set[str], *, image_sha256s: list[str] | None = None) -> "AllowRuleQuerySet":
        """Rules that cover this listing: its seller × a matched reference, or one of its exact images
        (``image_sha256s``, read from the listing when not given)."""
        if image_sha256s is None:
            image_sha256s = list(listing.images.values_list("sha256", flat=True))
        return self.filter(
            models.Q(seller_id=listing.seller_id, reference__ref_key__in=ref_keys)
            | models.Q(image_sha256__in=image_sha256s)
        )


class AllowRule(models.Model):
    """A genuine pattern a moderator confirmed: the same listing is not flagged again."""

    class Scope(models.TextChoices):
        SELLER_REFERENCE = "seller_reference", "This seller × this reference"
        IMAGE = "image", "This exact image"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    seller = models.ForeignKey("listings.Seller", null=True, blank=True, on_delete=models.CASCADE)
    reference = models.ForeignKey("catalog.ReferenceItem", null=True, blank=True, on_delete=models.CASCADE)
    image_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    decision = models.ForeignKey("moderation.Decision", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AllowRuleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scope="seller_reference", seller__isnull=False, reference__isnull=False)
                           | (models.Q(scope="image") & ~models.Q(image_sha256=""))),
                name="allow_rule_has_its_keys"),
        ]

    def __str__(self) -> str:
        if self.scope == self.Scope.IMAGE:
            return f"allow image {self.image_sha256[:12]}"
        return f"allow {self.seller} × {self.reference}"

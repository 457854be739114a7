"""Marketplace-side records: sellers, listings with images, and the detections the scans wrote."""
from django.conf import settings
from django.db import models

from anticounterfeit.accounts.models import Role, brand_ids_of, is_staff_role, role_of, seller_of


class SellerQuerySet(models.QuerySet):
    """Restricted querysets (NetBox style): every read that serves a user goes through ``visible_to``."""

    def visible_to(self, user) -> "SellerQuerySet":
        if is_staff_role(user):
            return self
        if role_of(user) == Role.API_CLIENT:  # a marketplace sees the sellers of its own tenant only
            return self.filter(client__user=user)
        seller = seller_of(user)
        return self.filter(pk=seller.pk) if seller else self.none()

    def of_tenant(self, client) -> "SellerQuerySet":
        return self.filter(client=client)


class Seller(models.Model):
    # The tenant that registered the seller: its id, e-mail and identity belong to that marketplace only.
    client = models.ForeignKey("api.MarketplaceClient", on_delete=models.PROTECT, related_name="sellers")
    seller_key = models.CharField("seller id", max_length=64)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    account_age_days = models.PositiveIntegerField(default=0)
    # The record at onboarding (imported); it weighs into the HISTORY trust event once.
    onboarded_takedowns = models.PositiveIntegerField(default=0)
    # onboarded_takedowns plus the confirmed takedowns in force here; kept by trust.actions.record_trust_event in
    # the same transaction as the strike or its reversal (trust.actions.takedowns_from_history recomputes it).
    prior_takedowns = models.PositiveIntegerField(default=0)
    prior_sales = models.PositiveIntegerField(default=0)
    # Derived from TrustEvent history by trust.services; stored for fast reads.
    trust_rating = models.PositiveSmallIntegerField(default=0)
    trust_tier = models.CharField(max_length=12, blank=True)
    restricted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SellerQuerySet.as_manager()

    class Meta:
        ordering = ["seller_key"]
        constraints = [models.UniqueConstraint(fields=["client", "seller_key"], name="uniq_seller_per_client")]

    def __str__(self) -> str:
        return f"{self.name} ({self.seller_key})"


class ListingQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ListingQuerySet":
        role = role_of(user)
        if is_staff_role(user):
            return self
        if role == Role.BRAND_OWNER:
            return self.filter(matched_brand_id__in=brand_ids_of(user))
        if role == Role.SELLER:
            seller = seller_of(user)
            return self.filter(seller=seller) if seller else self.none()
        if role == Role.API_CLIENT:
            return self.filter(client__user=user)
        return self.none()

    def of_tenant(self, client) -> "ListingQuerySet":
        return self.filter(client=client)


class Listing(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending scan"
        CLEAR = "clear", "Scanned, clear"
        IN_REVIEW = "in_review", "In review"
        REMOVED = "removed", "Removed"
        CLEARED = "cleared", "Cleared by moderator"
        REINSTATED = "reinstated", "Reinstated"

    listing_key = models.CharField("listing id", max_length=64)
    client = models.ForeignKey("api.MarketplaceClient", on_delete=models.PROTECT)  # the tenant; same as seller's
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    matched_brand = models.ForeignKey("catalog.Brand", null=True, blank=True, on_delete=models.SET_NULL)
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["client", "listing_key"], name="uniq_listing_per_client")]
        indexes = [models.Index(fields=["status", "updated_at"]), models.Index(fields=["matched_brand", "status"])]

    def __str__(self) -> str:
        return f"{self.listing_key} · {self.title[:60]}"


class ListingImage(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    image = models.ImageField(upload_to="listings/%Y/%m/")
    sha256 = models.CharField(max_length=64, db_index=True)
    # Written by the scan; read when the listing is confirmed counterfeit (no re-embedding).
    vector = models.BinaryField(null=True, blank=True)
    pdq = models.CharField(max_length=64, blank=True, db_index=True)
    # ml LoadedModels.version that computed vector/pdq ("" = none). Removed listings are never rescanned, so
    # detection.bank_builds.build_bank recomputes features of another version before they enter the counterfeit bank.
    features_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["listing", "position"]

    def __str__(self) -> str:
        return f"{self.listing.listing_key}#{self.position}"


def media_path(field_file) -> str:
    return str(settings.MEDIA_ROOT / field_file.name)

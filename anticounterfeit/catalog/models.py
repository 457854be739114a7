"""What brands say is genuine: brands, reference items with images, authorized sellers, and the bank versions built from them."""
from django.db import models

from anticounterfeit.accounts.models import brand_ids_of, is_staff_role
from anticounterfeit.moderation.models import ReasonCode
from ml.types import BrandInfo


class BrandQuerySet(models.QuerySet):
    def visible_to(self, user) -> "BrandQuerySet":
        if is_staff_role(user):
            return self
        return self.filter(pk__in=brand_ids_of(user))


class Brand(models.Model):
    brand_key = models.CharField("brand id", max_length=64, unique=True)
    name = models.CharField(max_length=120)
    aliases = models.JSONField(default=list, blank=True)
    protected_terms = models.JSONField(default=list, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_name = models.CharField(max_length=120, blank=True)
    trademark_numbers = models.JSONField(default=list, blank=True)
    # Self-service removal: granted and revoked by catalog.accuracy.evaluate_self_service, never by hand.
    self_service = models.BooleanField(default=False)
    self_service_reason = models.CharField(max_length=300, blank=True)
    self_service_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BrandQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def matching_info(self) -> BrandInfo:
        """What brand-mention matching reads of the brand (name, aliases, protected terms)."""
        return BrandInfo(self.brand_key, self.name, tuple(self.aliases), tuple(self.protected_terms))


class ReferenceQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ReferenceQuerySet":
        if is_staff_role(user):
            return self
        return self.filter(brand_id__in=brand_ids_of(user))


class ReferenceItem(models.Model):
    class Kind(models.TextChoices):
        PRODUCT = "product", "Product"
        LOGO = "logo", "Logo"

    ref_key = models.CharField("reference id", max_length=64, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="references")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    msrp = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRODUCT)
    quarantined = models.BooleanField(default=False, help_text="Excluded from matching (noisy reference).")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["brand__name", "ref_key"]

    def __str__(self) -> str:
        return f"{self.ref_key} · {self.title}"


class ReferenceImage(models.Model):
    reference = models.ForeignKey(ReferenceItem, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    image = models.ImageField(upload_to="references/%Y/%m/")
    sha256 = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["reference", "position"]

    def __str__(self) -> str:
        return f"{self.reference.ref_key}#{self.position}"


class AuthorizedSeller(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="authorized_sellers")
    seller = models.ForeignKey("listings.Seller", on_delete=models.CASCADE, related_name="authorizations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "seller"], name="uniq_brand_seller_authorization")]

    def __str__(self) -> str:
        return f"{self.seller} authorized for {self.brand}"


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ImportJobQuerySet":
        if is_staff_role(user):
            return self
        return self.filter(brand_id__in=brand_ids_of(user))


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        INDEXING = "indexing", "Building banks"
        MATCHING = "matching", "Matching existing listings"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=500)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="import_jobs",
                              help_text="Set for uploads from the brand portal: only this brand's items are imported.")
    retro_total = models.PositiveIntegerField(default=0)
    retro_done = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict)
    errors = models.JSONField(default=list)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} ({self.status})"

    @property
    def progress(self) -> int:
        """0-100 across the three stages: rows (0-20), banks (20-50), matching existing listings (50-100)."""
        if self.status == self.Status.DONE:
            return 100
        if self.status == self.Status.MATCHING:
            return 50 + (50 * self.retro_done // self.retro_total if self.retro_total else 0)
        return {self.Status.QUEUED: 2, self.Status.RUNNING: 10, self.Status.INDEXING: 30}.get(self.status, 100)


class BrandReportQuerySet(models.QuerySet):
    def visible_to(self, user) -> "BrandReportQuerySet":
        if is_staff_role(user):
            return self
        return self.filter(brand_id__in=brand_ids_of(user))


class BrandReport(models.Model):
    """A brand's claim that a listing is counterfeit. Its case's outcome is what the brand's accuracy counts."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="reports")
    listing = models.ForeignKey("listings.Listing", on_delete=models.CASCADE, related_name="brand_reports")
    case = models.ForeignKey("moderation.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="brand_reports")
    reason_code = models.CharField(max_length=24, choices=ReasonCode.choices)
    note = models.TextField(blank=True)
    reference = models.ForeignKey(ReferenceItem, null=True, blank=True, on_delete=models.SET_NULL)
    direct_removal = models.BooleanField(default=False, help_text="Removed at once under the brand's self-service privilege.")
    reported_by = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = BrandReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"report #{self.pk} by {self.brand} on {self.listing_id}"

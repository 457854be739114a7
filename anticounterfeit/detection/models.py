"""Detection's records: scan results, the review policy, bank versions, scorer versions, brand policies and
allow rules."""
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
    # A candidate running in shadow: every scan also records its score (Detection.shadow_score), acting on nothing.
    is_shadow = models.BooleanField(default=False)
    n_decisions = models.PositiveIntegerField(default=0)
    n_counterfeit = models.PositiveIntegerField(default=0)
    last_decision_id = models.PositiveBigIntegerField(default=0, help_text="newest Decision used in training")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                               name="one_active_scorer_version"),
                       models.UniqueConstraint(fields=["is_shadow"], condition=models.Q(is_shadow=True),
                                               name="one_shadow_scorer_version")]

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


class DetectionPolicy(models.Model):
    """Review thresholds. A single row (pk=1) holds the live values; brands may override."""

    review_threshold = models.FloatField()
    high_priority_threshold = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "core_detectionpolicy"

    @classmethod
    def current(cls) -> "DetectionPolicy":
        defaults = settings.DETECTION
        policy, _ = cls.objects.get_or_create(
            pk=1,
            defaults={
                "review_threshold": defaults["REVIEW_THRESHOLD"],
                "high_priority_threshold": defaults["HIGH_PRIORITY_THRESHOLD"],
            },
        )
        return policy

    def __str__(self) -> str:
        return f"review ≥ {self.review_threshold:.2f}, high priority ≥ {self.high_priority_threshold:.2f}"


class Detection(models.Model):
    """One scan's result: score, matched brand, per-signal values, explanation and matches."""

    listing = models.ForeignKey("listings.Listing", on_delete=models.CASCADE, related_name="detections")
    created_at = models.DateTimeField(auto_now_add=True)
    score = models.FloatField()
    brand = models.ForeignKey("catalog.Brand", null=True, blank=True, on_delete=models.SET_NULL)
    signals = models.JSONField(default=dict)
    explanation = models.JSONField(default=list)
    matches = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    # Text OCR read per listing image position ({"0": "..."}; JSON keys are strings). OCR runs only when the
    # title and description name no brand, so this is the evidence when it contributed.
    image_text = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(max_length=80)
    bank_version = models.PositiveIntegerField(default=0)
    # The shadow candidate's score for the same signals (never acted on; compared on the shadow dashboard).
    shadow_score = models.FloatField(null=True, blank=True)
    shadow_scorer = models.ForeignKey(ScorerVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="shadow_detections")
    # A fast result whose OCR follow-up (workers.scan.scan_ocr) has not landed yet. Stored, not just queued, so a
    # follow-up lost to a broker outage is found again by the sweeper (workers.maintenance.requeue_ocr_followups).
    # Only a listing's newest detection may carry it.
    followup_pending = models.BooleanField(default=False)

    class Meta:
        db_table = "listings_detection"  # the table it had before detection got its own app
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], condition=models.Q(followup_pending=True),
                                name="detection_followup_pending")]

    def __str__(self) -> str:
        return f"detection {self.listing.listing_key} {self.score:.2f}"


class BankVersion(models.Model):
    """A set of FAISS banks on disk, plus the deltas after ``deltas_upto``. A full build writes a new folder, and
    workers load it. A catalog change publishes its deltas under a new number on the *same* folder: workers
    adopt the number without reloading, and the listings already scanned are re-matched against it."""

    number = models.PositiveIntegerField(unique=True)
    path = models.CharField(max_length=500)
    counts = models.JSONField(default=dict)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every BankDelta up to this id is already in this version (read before the build read the database).
    deltas_upto = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "catalog_bankversion"
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"bank v{self.number}"


class BankDelta(models.Model):
    """One change to the live banks since their last full version: a takedown's vectors and hashes appended to the
    counterfeit bank, a reinstatement's or a removed reference's tombstone, a new or changed reference's vectors
    and hashes, or a brand's new profile (the names text matching looks for).

    Written in the deciding transaction (or by the ``index`` queue when features must be computed first). Every
    worker applies the deltas newer than its version in id order, without reloading the bank; compaction
    (``detection.bank_builds.compact``) writes a full version that includes them.
    """

    class Op(models.TextChoices):
        ADD_COUNTERFEIT = "add_counterfeit"
        REMOVE_COUNTERFEIT = "remove_counterfeit"
        EXCLUDE_REFERENCE = "exclude_reference"
        ADD_REFERENCE = "add_reference"
        BRAND_PROFILE = "brand_profile"

    op = models.CharField(max_length=20, choices=Op.choices)
    source_key = models.CharField(max_length=200, help_text="The listing id or reference id the entries come from.")
    brand_key = models.CharField(max_length=100, blank=True)
    dim = models.PositiveIntegerField(default=0)
    vectors = models.BinaryField(blank=True, default=b"")  # float32, (n, dim)
    pdq = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    # add_reference: the reference, its brand and its rows' metadata, and its text vector; brand_profile: the brand
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"bank delta #{self.pk} {self.op} {self.source_key}"


class Backtest(models.Model):
    """A candidate change replayed on the decided history of a window (``detection.replay``), before it goes live.

    Activating a change from the console names the backtest it was based on (``activated_at``/``activated_by``
    here, and the audit row); without one, a lead must give a reason.
    """

    class Kind(models.TextChoices):
        SCORER = "scorer", "New scorer version"
        GLOBAL_THRESHOLD = "global_threshold", "Global review threshold"
        BRAND_THRESHOLD = "brand_threshold", "Brand review threshold"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    scorer = models.ForeignKey(ScorerVersion, null=True, blank=True, on_delete=models.CASCADE)
    threshold = models.FloatField(null=True, blank=True)
    brand = models.ForeignKey("catalog.Brand", null=True, blank=True, on_delete=models.CASCADE)
    days = models.PositiveSmallIntegerField()
    results = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"backtest #{self.pk}: {self.describe()}"

    def describe(self) -> str:
        if self.kind == self.Kind.SCORER:
            return f"scorer v{self.scorer.number if self.scorer else '?'} over {self.days} days"
        if self.kind == self.Kind.BRAND_THRESHOLD:
            return f"{self.brand.name if self.brand else '?'} threshold {self.threshold} over {self.days} days"
        return f"global threshold {self.threshold} over {self.days} days"

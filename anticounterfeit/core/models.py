"""Cross-domain records: the audit log and the detection policy (one source of truth for thresholds)."""
from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """An append-only record of a state change or a view of personal data.

    Copies the actor's name and the object's repr so the row outlives its subjects.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.object_repr}"


class DetectionPolicy(models.Model):
    """Review thresholds. A single row (pk=1) holds the live values; brands may override."""

    review_threshold = models.FloatField()
    high_priority_threshold = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

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

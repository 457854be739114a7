"""Changing the detection policy: the thresholds every scan and the queue read (one row, audited)."""
from django.db import transaction

from . import audit
from .models import DetectionPolicy


@transaction.atomic
def update_detection_policy(*, acting_user, review_threshold: float, high_priority_threshold: float) -> DetectionPolicy:
    """Validate and store new thresholds; the audit row keeps the old values so a change can be undone."""
    if not 0.0 < review_threshold < 1.0:
        raise ValueError("review_threshold: must be between 0 and 1")
    if not review_threshold <= high_priority_threshold <= 1.0:
        raise ValueError("high_priority_threshold: must be between the review threshold and 1")
    DetectionPolicy.current()
    policy = DetectionPolicy.objects.select_for_update().get(pk=1)
    before = {"review_threshold": policy.review_threshold, "high_priority_threshold": policy.high_priority_threshold}
    policy.review_threshold, policy.high_priority_threshold = review_threshold, high_priority_threshold
    policy.save(update_fields=["review_threshold", "high_priority_threshold", "updated_at"])
    audit.record("policy.update", policy, actor=acting_user, before=before,
                 after={"review_threshold": review_threshold, "high_priority_threshold": high_priority_threshold})
    return policy

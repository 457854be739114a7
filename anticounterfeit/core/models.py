"""Cross-domain records: the audit log, the detection policy and the outbox of queued work."""
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


class OutboxMessage(models.Model):
    """A task to publish, written in the same transaction as the state change it follows from.

    The row makes the consequence durable: if the broker is down at commit time the decision still stands and
    the relay (``anticounterfeit.core.queue.publish_pending``) publishes the row once the broker is back.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PUBLISHED = "published"
        DONE = "done"  # its consumer completed: a redelivery of the message does nothing
        DEAD = "dead"  # its consumer kept failing (retries exhausted): shown to admins, who can retry it

    created_at = models.DateTimeField(auto_now_add=True)
    task_name = models.CharField(max_length=120)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["created_at"], name="outbox_pending_idx",
                                condition=models.Q(status="pending")),
                   models.Index(fields=["published_at"], name="outbox_published_idx",
                                condition=models.Q(status="published"))]

    def __str__(self) -> str:
        return f"outbox #{self.pk} {self.task_name} ({self.status})"

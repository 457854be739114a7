"""Core state changes: putting dead letters of the outbox back in the queue (audited)."""
from collections.abc import Sequence

from django.db import transaction

from . import audit, queue
from .models import OutboxMessage


@transaction.atomic
def retry_dead_letters(ids: Sequence[int], *, acting_user) -> int:
    """Queue dead outbox rows again; one audit row per message."""
    messages = list(OutboxMessage.objects.select_for_update().filter(pk__in=ids, status=OutboxMessage.Status.DEAD))
    for message in messages:
        audit.record("outbox.retry", message, actor=acting_user, before={"status": message.status,
                                                                         "last_error": message.last_error},
                     after={"status": OutboxMessage.Status.PENDING})
    return queue.retry_dead([message.pk for message in messages])

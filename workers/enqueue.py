"""Queueing after commit without ever failing the request that committed.

The row is already durable when the callback runs; if the broker is down the listing simply stays
``pending`` and the beat sweeper (``workers.maintenance.requeue_stuck_listings``) queues it later.
"""
import logging

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)


def send_quietly(task, *args, **kwargs) -> bool:
    """``task.delay(*args, **kwargs)``; on a broker failure log it and return False instead of raising."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True,
                         retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.3})
    except (BrokerError, ConnectionError) as exc:
        log.warning("broker unavailable, %s%s left for the sweeper: %s", task.name, args, exc)
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue ``task`` once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: send_quietly(task, *args, **kwargs))

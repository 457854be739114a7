"""Trust work that must not run inside a moderator's request: linking sellers after a takedown, and crediting
account age (beat). Both are idempotent; both run on the ``index`` queue (``workers.trust.*``)."""
import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from anticounterfeit.core import queue, tasks
from anticounterfeit.trust import actions as trust_actions

log = logging.getLogger(__name__)
RETRY = {"acks_late": True, "autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 2,
         "retry_backoff_max": 120, "retry_jitter": True, "max_retries": 5}
AGE_BATCH = 500


@shared_task(name="workers.trust.link_sellers", **RETRY)
def link_sellers(decision_id: int) -> int:
    """Queued on commit of a takedown: link other sellers whose images match the confirmed counterfeit."""
    linked = trust_actions.link_sellers_for_decision(decision_id)
    if linked:
        log.info("decision %s linked %s listing(s) of other sellers", decision_id, linked)
    return linked


@shared_task(name="workers.trust.credit_account_age", **RETRY)
def credit_account_age(after_pk: int = 0) -> int:
    """Beat (daily): one slice of sellers gets the tenure credits that fell due; the next slice is queued."""
    added, next_pk = trust_actions.credit_account_age_batch(after_pk=after_pk, limit=AGE_BATCH)
    if next_pk is not None:
        queue.enqueue(tasks.CREDIT_ACCOUNT_AGE, next_pk)
    return added

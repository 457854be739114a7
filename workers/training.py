"""Beat task: retrain the scorer when enough new moderator decisions have accumulated."""
import logging

from celery import shared_task
from django.conf import settings

from anticounterfeit.detection import actions

log = logging.getLogger(__name__)


@shared_task(name="workers.training.retrain_scorer_if_due", acks_late=True)
def retrain_scorer_if_due() -> int | None:
    """Returns the new version number, or None when too few new decisions exist (checked each run)."""
    new = actions.new_decisions_since(actions.active_version())
    if new < settings.DETECTION["RETRAIN_MIN_NEW_DECISIONS"]:
        return None
    try:
        version = actions.train_scorer()
    except actions.NotEnoughDecisions as exc:
        log.info("scorer retrain skipped: %s", exc)
        return None
    log.info("scorer v%s trained on %s decisions", version.number, version.n_decisions)
    return version.number

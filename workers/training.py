"""Beat task: retrain the scorer when enough new moderator decisions have accumulated (live only if backtested)."""
import logging

from celery import shared_task

from anticounterfeit.detection import actions, backtests

log = logging.getLogger(__name__)


@shared_task(name="workers.training.retrain_scorer_if_due", acks_late=True)
def retrain_scorer_if_due() -> int | None:
    """Returns the new version number, or None when too few new decisions exist (checked each run)."""
    try:
        version = backtests.retrain_if_due()
    except actions.NotEnoughDecisions as exc:
        log.info("scorer retrain skipped: %s", exc)
        return None
    if version is not None:
        log.info("scorer v%s trained on %s decisions: %s", version.number, version.n_decisions,
                 "live" if version.is_active else "held for a lead (see its backtest)")
    return version.number if version else None

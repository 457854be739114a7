"""Per-process detection runtime: models load once; banks reload when a newer BankVersion exists."""
import logging
import os
import threading

from django.conf import settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict = {"version": None, "detector": None}


def configure_threads() -> None:
    import torch

    threads = settings.DETECTION["TORCH_THREADS"] or os.cpu_count() or 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def current_bank_version():
    from anticounterfeit.catalog.models import BankVersion

    return BankVersion.objects.order_by("-number").first()


def get_detector():
    """Return ``(detector, bank_version_number)``; ``(None, 0)`` when no catalog has been indexed yet."""
    from ml.detector import Detector
    from ml.index import ReferenceIndex
    from ml.models import load_models

    version = current_bank_version()
    if version is None:
        return None, 0
    scorer_row = active_scorer_version()
    key = (version.pk, version.number, scorer_row.pk if scorer_row else None)
    with _lock:
        # Keyed by row id too: a rebuilt database (tests, a restore) may reuse a number for another bank.
        # The active ScorerVersion is part of the key: a retrain or rollback reaches every worker's next scan.
        if _state["version"] != key:
            configure_threads()
            log.info("loading bank v%s from %s", version.number, version.path)
            index = ReferenceIndex.load(version.path)
            _state["detector"] = Detector(load_models(), index, scorer=load_scorer(scorer_row))
            _state["version"] = key
        return _state["detector"], version.number


def active_scorer_version():
    from anticounterfeit.detection.actions import active_version

    return active_version()


def load_scorer(scorer_row=None):
    """The active trained ScorerVersion if any, else SCORER_PATH, else the shipped default."""
    from ml.scorer import Scorer

    if scorer_row is not None:
        return Scorer.from_dict(scorer_row.document)
    path = settings.DETECTION.get("SCORER_PATH")
    return Scorer.load(str(path)) if path and os.path.exists(path) else Scorer.load_default()

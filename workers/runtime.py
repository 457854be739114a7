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
    with _lock:
        # Keyed by row id too: a rebuilt database (tests, a restore) may reuse a number for another bank.
        if _state["version"] != (version.pk, version.number):
            configure_threads()
            log.info("loading bank v%s from %s", version.number, version.path)
            index = ReferenceIndex.load(version.path)
            _state["detector"] = Detector(load_models(), index, scorer=load_scorer())
            _state["version"] = (version.pk, version.number)
        return _state["detector"], version.number


def load_scorer():
    from ml.scorer import Scorer

    path = settings.DETECTION.get("SCORER_PATH")
    return Scorer.load(str(path)) if path and os.path.exists(path) else Scorer.load_default()

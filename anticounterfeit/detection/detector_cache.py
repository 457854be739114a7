"""The detector each process keeps loaded: models load once; banks reload when a newer BankVersion exists."""
import functools
import json
import logging
import os
import re
import threading

from django.conf import settings

from anticounterfeit.core import queue, tasks
from anticounterfeit.core.locks import is_taken, take_once
from ml.hardware import split_cores
from ml.scorer import Scorer

from . import bank_deltas
from .actions import active_version
from .ml_config import bank_config, detector_config, models_config
from .models import BankVersion, ScorerVersion

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict = {"version": None, "detector": None, "stale": None, "rebuild_requested": None, "deltas_upto": 0}


def share_cores_among_pool(concurrency: int) -> None:
    """Give each of a worker's ``concurrency`` pool processes its share of the cores, unless ``TORCH_THREADS``
    says otherwise. Called in the worker's main process before it forks the pool (``worker_init``).

    Each scan process then keeps its share busy with no more threads than that (one worker per core scans
    ~1.3x more listings per second on 2 cores than one two-thread worker), and never two OpenMP teams
    fighting over a core (README, Threads).
    """
    if concurrency <= 1 or settings.TORCH_THREADS:
        return

    threads = split_cores(concurrency)
    settings.TORCH_THREADS = threads  # the forked children build their ModelsConfig from it (detection.ml_config)
    log.info("worker pool of %d processes: %d torch threads each", concurrency, threads)


def configure_threads() -> None:
    import torch

    threads = settings.TORCH_THREADS or os.cpu_count() or 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def current_bank_version() -> BankVersion | None:
    return BankVersion.objects.order_by("-number").first()


def get_detector():
    """Return ``(detector, bank_version_number)``; ``(None, 0)`` when no catalog has been indexed yet.

    The bank is the newest full version plus the deltas written since (``detection.bank_deltas``): each call
    applies the new ones in place (one indexed query, usually empty), so a takedown reaches every worker's next
    scan without a reload.

    A bank built with other models (``index.model_version != models.version``, e.g. after a PDQ change) is still
    used, for availability: its image and text vectors are the same space and only exact-copy (PDQ) matching
    misses. The mismatch is logged, shown by the health check, and one rebuild is queued for all workers.
    """
    # Lazy: the web process imports this module (health check) and must not load torch or faiss.
    from ml.detector import Detector
    from ml.index import ReferenceIndex
    from ml.models import load_models

    version = current_bank_version()
    if version is None:
        return None, 0
    scorer_row = active_version()
    key = (version.pk, version.number, scorer_row.pk if scorer_row else None)
    with _lock:
        # Keyed by row id too: a rebuilt database (tests, a restore) may reuse a number for another bank.
        # The active ScorerVersion is part of the key: a retrain or rollback reaches every worker's next scan.
        # A catalog change publishes its deltas under a new number on the same folder: adopt it, no reload.
        folder = (version.path, version.deltas_upto, key[2])
        if _state["version"] != key and _state.get("folder") == folder and not _state["stale"]:
            _state["version"] = key
        if _state["version"] != key:
            configure_threads()
            log.info("loading bank v%s from %s", version.number, version.path)
            index = ReferenceIndex.load(version.path, bank_config())
            models = load_models(models_config())
            _state["detector"] = Detector(models, index, scorer=load_scorer(scorer_row), config=detector_config())
            _state["version"], _state["folder"] = key, folder
            _state["deltas_upto"] = version.deltas_upto
            _state["stale"] = (index.model_version, models.version) if index.model_version != models.version else None
            if _state["stale"]:
                log.warning("bank v%s was built with models %s but this worker runs %s: scanning on with it "
                            "(PDQ matches may be missed) until the rebuild lands", version.number, *_state["stale"])
        new = bank_deltas.deltas_after(_state["deltas_upto"])
        if new:
            if bank_deltas.apply(_state["detector"].index, new):
                _state["detector"].catalog_changed()
            _state["deltas_upto"] = new[-1].pk
            log.info("bank v%s: applied %s delta(s), up to #%s", version.number, len(new), new[-1].pk)
        detector, stale = _state["detector"], _state["stale"]
    if stale and _state.get("rebuild_requested") != key:  # outside the lock: an eager rebuild rescans in-process
        if request_bank_rebuild(version, *stale):
            _state["rebuild_requested"] = key
    return detector, version.number


def _rebuild_key(version, expected: str) -> str:
    return f"ac:bank-rebuild:{version.pk}:{version.created_at.timestamp():.6f}:{expected}"


def request_bank_rebuild(version, built_with: str, expected: str) -> bool:
    """Queue one rebuild for a stale bank across all workers; True when it is queued (by this call or earlier).

    The first worker to take the lock (Redis ``SET NX`` on the broker; the process cache in the embedded mode)
    queues ``rebuild_banks``; the lock expires after an hour, so a rebuild that failed is queued again later.
    """
    key = _rebuild_key(version, expected)
    if not take_once(key, REBUILD_LOCK_SECONDS):
        return True
    reason = f"model version changed: bank v{version.number} built with {built_with}, models are {expected}"
    queue.enqueue(tasks.REBUILD_BANKS, reason=reason[:200])
    log.warning("queued a bank rebuild: %s", reason)
    return True


def rebuild_requested(version, expected: str) -> bool:
    return is_taken(_rebuild_key(version, expected))


REBUILD_LOCK_SECONDS = 3600


def expected_model_version() -> str:
    """``LoadedModels.version`` of the models a worker loads, without loading them (the web process has no torch models)."""
    from ml.models import models_version

    return models_version(models_config())


def index_model_version(path: str) -> str | None:
    """The ``model_version`` a bank folder was built with (None when unreadable); cheap: reads the file's head."""
    file = os.path.join(path, "index.json")
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return _read_model_version(file, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_model_version(file: str, _mtime: int, _size: int) -> str | None:
    try:
        with open(file, encoding="utf-8") as f:
            head = f.read(8192)  # index.json writes model_version among its first keys; references follow
        found = re.search(r'"model_version":\s*("(?:[^"\\]|\\.)*")', head)
        if found:
            return json.loads(found.group(1))
        with open(file, encoding="utf-8") as f:
            return json.load(f).get("model_version")
    except (OSError, ValueError):
        return None


def bank_status() -> str:
    """One line for the health check: is the newest bank usable by these models?"""
    version = current_bank_version()
    if version is None:
        return "none (no catalog indexed yet)"
    built_with, expected = index_model_version(version.path), expected_model_version()
    if built_with is None:
        return f"error: bank v{version.number} at {version.path} is unreadable"
    if built_with == expected:
        return f"ok (v{version.number})"
    queued = "queued" if rebuild_requested(version, expected) else "not queued yet (the next scan queues it)"
    return (f"stale: bank v{version.number} was built with models {built_with}, workers run {expected}; "
            f"scans continue on it (PDQ matches may be missed); rebuild {queued}")


_shadow: dict = {"key": None, "scorer": None}


def shadow_scorer():
    """``(ScorerVersion, Scorer)`` of the candidate running in shadow, or None; the Scorer is kept per process and
    reloaded when the shadow version changes (one small query per scan batch)."""

    row = ScorerVersion.objects.filter(is_shadow=True).first()
    if row is None:
        return None
    with _lock:
        if _shadow["key"] != (row.pk, row.version):
            _shadow["key"], _shadow["scorer"] = (row.pk, row.version), load_scorer(row)
        return row, _shadow["scorer"]


def load_scorer(scorer_row=None):
    """The active trained ScorerVersion if any, else SCORER_PATH, else the shipped default."""

    if scorer_row is not None:
        return Scorer.from_dict(scorer_row.document)
    path = settings.DETECTION.get("SCORER_PATH")
    return Scorer.load(str(path)) if path and os.path.exists(path) else Scorer.load_default()

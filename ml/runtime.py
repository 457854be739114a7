"""Process-wide runtime knobs (threads, FAISS/OpenMP behaviour), applied once before heavy imports."""
from __future__ import annotations

import os

_DONE = False


def configure(threads: int = 2) -> None:
    """Pin thread counts deliberately: oversubscribing 2 cores costs more than it gains.

    OMP_WAIT_POLICY=PASSIVE stops idle OpenMP threads spinning against torch's pool; FAISS's BLAS
    threshold is lowered because its BLAS path is slow on this CPU for small batches.
    """
    global _DONE
    if _DONE:
        return
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(threads)
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
        faiss.cvar.distance_compute_blas_threshold = 20
    except Exception:  # noqa: BLE001 - faiss tuning is best-effort
        pass
    _DONE = True

"""Process-wide runtime knobs (threads, FAISS/OpenMP behaviour), applied once before heavy imports."""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_DONE = False
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}  # name -> (pid that made it, pool)
_pools_lock = threading.Lock()


def configure(threads: int = 2) -> None:
    """Pin thread counts deliberately: oversubscribing 2 cores costs more than it gains.

    OMP_WAIT_POLICY=PASSIVE stops idle OpenMP threads spinning against torch's pool; FAISS's BLAS
    threshold is lowered because its BLAS path is slow on this CPU for small batches. OpenBLAS misses
    newer AVX-512 Xeons and falls back to generic kernels, so it is told their family, but only where
    the CPU has AVX-512: forcing those kernels on an AVX2-only CPU (e.g. AMD EPYC Rome) kills the
    process with SIGILL.
    """
    global _DONE
    if _DONE:
        return
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    coretype = openblas_coretype(cpu_flags())
    if coretype:
        os.environ.setdefault("OPENBLAS_CORETYPE", coretype)
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


def openblas_coretype(flags: frozenset[str]) -> str | None:
    """The OpenBLAS kernel family to force for a CPU with these flags, or None to let OpenBLAS detect it."""
    return "SkylakeX" if "avx512f" in flags else None


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


@functools.cache  # asked on every region search (bf16 hardware?)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``avx2``, ``avx512f``, ``amx_bf16``, ...)."""
    return frozenset(_cpuinfo().get("flags", "").split())


def cpu_model() -> str:
    return _cpuinfo().get("model name", "unknown CPU")


def thread_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """This process's thread pool called ``name``, made lazily and again after a fork (Celery prefork
    children inherit the parent's pool object but not its threads), never shared across pids."""
    with _pools_lock:
        made = _pools.get(name)
        if made is None or made[0] != os.getpid():
            made = _pools[name] = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix=f"ac-{name}"))
        return made[1]


def aside(fn: Callable[..., object], *args: object) -> Future:
    """Run ``fn(*args)`` on this process's one background thread, e.g. the text encoder while images decode.

    Torch and PIL release the GIL in their kernels, so the two overlap on separate cores.
    """
    return thread_pool("aside", 1).submit(fn, *args)

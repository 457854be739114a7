"""Process-wide runtime knobs (threads, FAISS/OpenMP behaviour), applied once before heavy imports."""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_DONE = False
_THREADS = 0  # this process's thread budget (``configure``); 0 = not configured: every core
_IMAGE_THREADS = 0  # image decode threads (``configure``); 0 = from the thread budget
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}  # name -> (pid that made it, pool)
_pools_lock = threading.Lock()


def configure(threads: int = 2, image_threads: int = 0) -> None:
    """Pin thread counts deliberately: oversubscribing a few cores costs more than it gains. Called once at
    start-up (``ml.models.load_models``, the CLI tools), never at import; later calls change nothing.

    ``image_threads`` (0: from ``threads``, at most 4) decode a scan batch's images (``image_threads()``).

    OMP_WAIT_POLICY=PASSIVE stops idle OpenMP threads spinning against torch's pool; FAISS's BLAS
    threshold is lowered because its BLAS path is slow for small batches. OpenBLAS misses newer
    AVX-512 Xeons and falls back to generic kernels, so it is told their family, but only where the CPU
    has AVX-512: forcing those kernels on an AVX2-only CPU kills the process with SIGILL.
    """
    global _DONE, _THREADS, _IMAGE_THREADS
    if _DONE:
        return
    _THREADS = max(1, threads)
    _IMAGE_THREADS = max(0, image_threads)
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


def cpu_vendor() -> str:
    return _cpuinfo().get("vendor_id", "")


def fast_bf16(flags: frozenset[str], vendor: str) -> bool:
    """Whether the CPU's bf16 units outrun its fp32 FMAs, so that bf16 inference pays.

    AMX tiles do; so does AVX512-BF16 on AMD. Intel's AVX512-BF16 without AMX (or a Xeon in a VM that hides
    AMX) does not: its bf16 dot product issues on one port against fp32's two, so bf16 there runs slower than
    fp32.
    """
    return "amx_bf16" in flags or ("avx512_bf16" in flags and vendor == "AuthenticAMD")


def thread_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """This process's thread pool called ``name``, made lazily and again after a fork (Celery prefork
    children inherit the parent's pool object but not its threads), never shared across pids."""
    with _pools_lock:
        made = _pools.get(name)
        if made is None or made[0] != os.getpid():
            made = _pools[name] = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix=f"ac-{name}"))
        return made[1]


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager:
    """numpy's BLAS on the calling thread only, for a run of small products (cheap to enter).

    OpenBLAS threads spin after each call; between torch's and FAISS's OpenMP pools on a small box they
    steal the core the next step needs (the PDQ search that follows a few small products).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def split_cores(processes: int, cores: int | None = None) -> int:
    """Threads for each of ``processes`` processes (or bench lanes) sharing the cores: at least 1."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, processes))


def thread_budget() -> int:
    """The threads this process may keep busy: ``configure``'s count (``TORCH_THREADS``), else every core.

    A one-thread process (one of several worker processes sharing the cores) runs its helper work inline
    (``aside``, ``ml.images.image_map``) instead of adding threads the other processes' cores then pay for.
    """
    return _THREADS or os.cpu_count() or 1


def image_threads() -> int:
    """Threads for decoding a batch's images: ``configure``'s ``image_threads``, else the thread budget, at most
    4 (1: inline)."""
    return _IMAGE_THREADS or min(4, thread_budget())


def aside(fn: Callable[..., object], *args: object) -> Future:
    """Run ``fn(*args)`` on this process's one background thread, e.g. the text encoder while images decode;
    inline (a finished future, exceptions included) when the process has one thread (``thread_budget``).

    Torch and PIL release the GIL in their kernels, so the two overlap on separate cores.
    """
    if thread_budget() > 1:
        return thread_pool("aside", 1).submit(fn, *args)
    done: Future = Future()
    try:
        done.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - delivered by .result(), as from the pool
        done.set_exception(exc)
    return done


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def cpu_summary(device: str = "cpu") -> str:
    """CPU model and the vector units the engines use (and the GPU, for a GPU engine), for the figures' context."""
    units = [u for u in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if u in cpu_flags()]
    cpu = f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(units) or 'no AVX2'}"
    if device == "cpu":
        return cpu
    import torch

    return f"{torch.cuda.get_device_name(device)}; CPU {cpu}"

"""ml.hardware: process-wide knobs must suit the CPU they run on."""
import os
import subprocess
import sys

from ml.hardware import cpu_flags, openblas_coretype


def test_openblas_kernels_are_forced_only_on_avx512_cpus():
    assert openblas_coretype(frozenset({"fma", "avx", "avx2"})) is None  # e.g. AMD EPYC Rome: SIGILL if forced
    assert openblas_coretype(frozenset({"avx2", "avx512f", "avx512bw"})) == "SkylakeX"
    assert openblas_coretype(frozenset()) is None


def test_configured_process_runs_blas_faiss_and_torch_on_this_cpu():
    """A worker configures the runtime before its first BLAS call; on a CPU without the forced kernels'
    instructions the process died with SIGILL (exit -4) at the first matrix product."""
    code = (
        "from ml import hardware; hardware.configure()\n"
        "import os, numpy as np, faiss, torch\n"
        "a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)\n"
        "assert np.isfinite(a @ a).all()\n"
        "index = faiss.IndexFlatIP(300); index.add(a); index.search(a[:40], 5)\n"
        "assert torch.isfinite(torch.from_numpy(a) @ torch.from_numpy(a)).all()\n"
        "print(os.environ.get('OPENBLAS_CORETYPE', ''))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (openblas_coretype(cpu_flags()) or "")


def test_one_thread_process_runs_its_helper_work_inline(monkeypatch):
    """A worker process given one thread (one of several sharing the cores) must not add threads of its own:
    the text encoder's ``aside`` and the image pool run on the calling thread, errors included."""
    import threading

    import pytest

    from ml import hardware, images

    me = threading.get_ident()
    monkeypatch.setattr(hardware, "_IMAGE_THREADS", 0)  # no image_threads override: follow the budget
    monkeypatch.setattr(hardware, "_THREADS", 1)
    assert hardware.thread_budget() == 1
    assert hardware.aside(threading.get_ident).result() == me
    with pytest.raises(ZeroDivisionError):
        hardware.aside(lambda: 1 / 0).result()
    assert images.image_map(lambda _: threading.get_ident(), range(6)) == [me] * 6
    monkeypatch.setattr(hardware, "_THREADS", 2)
    assert hardware.aside(threading.get_ident).result() != me
    assert me not in images.image_map(lambda _: threading.get_ident(), range(6))
    assert images.image_map(lambda v: v * v, range(6)) == [v * v for v in range(6)]


def test_one_blas_thread_limits_numpy_blas_and_restores_it():
    from threadpoolctl import threadpool_info

    from ml.hardware import one_blas_thread

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = blas_threads()
    with one_blas_thread():
        assert blas_threads() == {1}
    assert blas_threads() == before

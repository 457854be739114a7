"""Throughput benchmarks that print figures (not timed tests).

``python -m ml.bench``          scan throughput, listings/s, 1 image + title each (JPEG bytes in, scores
                                out) in worker-sized batches, against (a) plain eager fp32 forward passes
                                (the models as their packages ship them: unfused, fp32, inference_mode)
                                and (b) the raw forward passes of the engine the pipeline uses, same batch.
                                The pipeline is the workers' fast path (``Detector.scan(ocr=False)``); the
                                OCR follow-ups it leaves (``Detection.ocr_pending``) are timed and printed
                                separately, with the throughput all told.
``python -m ml.bench --banks``  FAISS bank scaling (same as ``python -m ml.bench_banks``, which has more options).

The machine is shared and noisy, so each mode is timed in interleaved rounds and the best round
counts; the ratios (measured in one run) are the figures to compare, not the absolute rates.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable

import numpy as np

FAKEBENCH = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fakebench")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def cpu_summary() -> str:
    """CPU model and the vector units the engines use, for the figures' context."""
    from ml.runtime import cpu_flags, cpu_model

    units = [u for u in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if u in cpu_flags()]
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(units) or 'no AVX2'}"


def _best(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ---- scan pipeline -----------------------------------------------------------------------------
def in_lanes(lanes: int, jobs: list[Callable[[], object]]) -> Callable[[], None]:
    """Run ``jobs`` (one per batch) on ``lanes`` threads, each taking the next batch when it is done, with
    ``split_cores(lanes)`` torch threads each: what ``lanes`` worker processes sharing the cores do with a
    queue of scan tasks (threads here, so the models load once; they also share the GIL, which processes
    do not)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from ml.runtime import split_cores

    threads = split_cores(lanes)
    pool = ThreadPoolExecutor(lanes, thread_name_prefix="bench-lane")

    def one(job: Callable[[], object]) -> None:
        torch.set_num_threads(threads)
        job()

    def run() -> None:
        list(pool.map(one, jobs))

    return run


def bench_scan(bundle_dir: str, n_listings: int, batch: int, rounds: int, lanes: int = 1) -> dict[str, float]:
    from ml.bundle import read_bundle
    from ml.config import ModelsConfig
    from ml.detector import Detector
    from ml.index import ReferenceIndex
    from ml.models import load_models
    from ml.ocr import ocr_status
    from ml.runtime import split_cores

    t0 = time.perf_counter()
    models = load_models(ModelsConfig(torch_threads=split_cores(lanes)))
    print(f"engine={models.engine} models loaded in {time.perf_counter() - t0:.1f}s ({load_average()})")
    b = read_bundle(bundle_dir)
    cache = os.path.join(os.environ.get("AC_ENGINE_CACHE") or "/tmp", "ac-bench-embed-cache")
    t0 = time.perf_counter()
    index = ReferenceIndex.build(b.brands, b.references, models, cache_dir=cache)
    print(f"index: {index.counts} built in {time.perf_counter() - t0:.1f}s")
    det = Detector(models, index)

    # 1 image + title each, JPEG bytes in memory (what a worker has after reading the upload).
    items = [lst for lst in b.listings if lst.image_paths][:n_listings]
    listings = []
    for lst in items:
        with open(lst.image_paths[0], "rb") as f:
            data = f.read()
        listings.append(dataclasses.replace(lst, description="", image_paths=(data,)))
    batches = [listings[i:i + batch] for i in range(0, len(listings), batch)]

    # The raw passes see exactly the tensors the pipeline computes for the same batches.
    from ml.images import load_image

    cfg = models.image.config
    img_x = [models.image.preprocess([load_image(lst.image_paths[0], draft_size=cfg.draft_size) for lst in bt])
             for bt in batches]
    txt_x = [models.text.tokenize([f"{lst.title}. {lst.description}" for lst in bt]) for bt in batches]

    # Workers scan on the fast path (OCR deferred); the listings whose text names no brand get an OCR
    # follow-up scan (Tesseract, ~10 ms per image, and the small-logo stage, ~150-250 ms) that replaces the fast result.
    followups = [[lst for lst, d in zip(bt, det.scan(bt, ocr=False), strict=True) if d.ocr_pending]
                 for bt in batches]
    n_follow = sum(map(len, followups))

    # The pipeline and the engine's raw passes run as the workers do: ``lanes`` scan processes sharing the
    # cores (``ml.runtime.split_cores``, as a worker's pool does), each taking whole batches. The baseline
    # is the model as the packages ship it: unfused EfficientNet-Lite0 and the transformers MiniLM, plain
    # fp32 under torch.inference_mode (BatchNorm folding is already an optimisation), one stream on every core.
    import torch

    from ml.effnet import build_effnet
    from ml.engine import eager_image

    plain_image = eager_image(build_effnet(models.config.effnet_weights))

    def raw(image_fwd, text_fwd) -> list[Callable[[], None]]:
        return [lambda x=x, enc=enc: (image_fwd(x), text_fwd(enc)) for x, enc in zip(img_x, txt_x, strict=True)]

    pipeline = in_lanes(lanes, [lambda bt=bt: det.scan(bt, ocr=False) for bt in batches])
    ocr_followups = in_lanes(lanes, [lambda bt=bt: det.scan(bt, ocr=True) for bt in followups if bt])
    engine_raw = in_lanes(lanes, raw(models.image.forward, models.text.forward))
    eager_jobs = raw(plain_image, models.text.eager_forward)

    def eager_raw() -> None:
        torch.set_num_threads(os.cpu_count() or 1)
        for job in eager_jobs:
            job()

    pipeline()  # warm-up (first-call allocations, lazy init, each lane's thread)
    engine_raw()
    eager_raw()
    t = {"pipeline": float("inf"), "raw": float("inf"), "eager": float("inf")}
    for _ in range(rounds):  # interleaved, so a burst of load hits every mode alike
        t["pipeline"] = min(t["pipeline"], _best(pipeline, 1))
        t["raw"] = min(t["raw"], _best(engine_raw, 1))
        t["eager"] = min(t["eager"], _best(eager_raw, 1))
    t_follow = _best(ocr_followups, 1)
    # The same plain eager passes in the pipeline's lanes, for context: what lanes alone buy the baseline.
    t_eager_lanes = _best(in_lanes(lanes, eager_jobs), 1) if lanes > 1 else t["eager"]
    n = len(listings)
    rate = {k: n / v for k, v in t.items()}

    # Accuracy of the engine against the plain fp32 reference on the same inputs.
    ge = np.concatenate([models.image.forward(x).mean(dim=(2, 3)).numpy() for x in img_x])
    gr = np.concatenate([plain_image(x).mean(dim=(2, 3)).numpy() for x in img_x])
    te = models.text.embed([f"{lst.title}" for lst in listings])
    fwd, models.text.forward = models.text.forward, models.text.eager_forward
    try:
        tr = models.text.embed([f"{lst.title}" for lst in listings])
    finally:
        models.text.forward = fwd
    ci, ct = _cos(ge, gr), np.sum(te * tr, axis=1)
    cos_img, cos_txt = float(np.min(ci)), float(np.min(ct))
    print(f"{n} listings in batches of {batch}, best of {rounds} rounds ({load_average()})")
    print(f"  pipeline and raw: {lanes} lane(s) of {split_cores(lanes)} thread(s), as {lanes} worker "
          f"process(es) run them; plain eager: one stream on {os.cpu_count()} threads")
    print(f"  pipeline (decode+embed+search+score): {rate['pipeline']:8.1f} listings/s (OCR deferred)")
    print(f"  + OCR follow-ups ({n_follow} of {n} listings, text names no brand, OCR "
          f"{ocr_status()}): {n / (t['pipeline'] + t_follow):8.1f} listings/s all told")
    print(f"  raw {models.engine:7s} forward (image+text): {rate['raw']:8.1f} listings/s")
    print(f"  plain eager fp32 forward (image+text):{rate['eager']:8.1f} listings/s"
          + (f" ({n / t_eager_lanes:.1f} in the same {lanes} lanes)" if lanes > 1 else ""))
    print(f"  raw {models.engine} is {rate['raw'] / rate['eager']:.2f}x plain eager: the most the pipeline's "
          f"speedup_vs_eager can reach on this CPU ({cpu_summary()})")
    print(f"  cosine vs plain fp32: image min {cos_img:.5f} mean {np.mean(ci):.5f}  "
          f"text min {cos_txt:.5f} mean {np.mean(ct):.5f}")
    return {"pipeline_vs_raw": rate["pipeline"] / rate["raw"], "speedup_vs_eager": rate["pipeline"] / rate["eager"],
            "listings_per_s": rate["pipeline"], "cos_img": cos_img, "cos_txt": cos_txt}


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.bench", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=os.environ.get("AC_BENCH_BUNDLE", FAKEBENCH))
    p.add_argument("--listings", type=int, default=48)
    p.add_argument("--batch", type=int, default=8, help="listings per scan task (workers/scan.py SCAN_BATCH)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--lanes", type=int, default=os.cpu_count() or 1,
                   help="scan lanes (worker processes sharing the cores, one thread each by default); 1 = one "
                        "stream on every core")
    p.add_argument("--banks", action="store_true", help="run the FAISS bank scaling benchmark instead")
    p.add_argument("--sizes", default="10000,100000", help="bank sizes for --banks (1,000,000 x 1280-d needs ~6 GB)")
    a = p.parse_args(argv)
    from ml import runtime

    runtime.configure(runtime.split_cores(a.lanes))
    if a.banks:
        from ml.bench_banks import main as bench_banks_main

        return bench_banks_main(["--sizes", a.sizes])
    r = bench_scan(os.path.abspath(a.bundle), a.listings, a.batch, a.rounds, a.lanes)
    print(f"pipeline_vs_raw={r['pipeline_vs_raw']:.2f} speedup_vs_eager={r['speedup_vs_eager']:.2f} "
          f"listings_per_s={r['listings_per_s']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput benchmarks that print figures (not timed tests).

``python -m ml.cli.bench``          scan throughput, listings/s, 1 image + title each (JPEG bytes in, scores
                                    out) in worker-sized batches, against (a) plain eager fp32 forward passes
                                    (the models as their packages ship them: unfused, fp32, inference_mode)
                                    and (b) the raw forward passes of the engine the pipeline uses, same batch.
                                    The pipeline is the workers' fast path (``Detector.scan(ocr=False)``); the
                                    OCR follow-ups it leaves (``ScanResult.followup_pending``) are timed and
                                    printed separately, with the throughput all told.
``python -m ml.cli.bench --banks``  FAISS bank scaling (same as ``python -m ml.cli.bench_banks``, which has more
                                    options).

The machine is shared and noisy, so each mode is timed in interleaved rounds. Rates are the best round's;
``pipeline_vs_raw`` is the median of the rounds' own ratios (each round runs both modes back to back), printed
with its spread. The ratios (measured in one run) are the figures to compare, not the absolute rates.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ml import hardware
from ml.bundle import read_bundle
from ml.cli.options import add_model_options, models_config
from ml.config import ModelsConfig
from ml.detector import Detector
from ml.effnet import build_effnet
from ml.engines.eager import eager_image, eager_text
from ml.hardware import cpu_summary, load_average, split_cores
from ml.images import ImageError, load_image
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.ocr import MAX_SIDE, image_text, ocr_available, ocr_status

if TYPE_CHECKING:
    import torch

    from ml.detector import Detector
    from ml.engines.base import ImageForward, TextForward
    from ml.models import LoadedModels
    from ml.types import ListingInput

FAKEBENCH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fakebench")


def _best(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ---- scan pipeline -----------------------------------------------------------------------------
MODES = ("pipeline", "followups", "raw", "eager")


@dataclasses.dataclass
class ScanWork:
    """One scan process's share of the bench: the detector over worker-sized batches of listings, the engine's
    raw passes over exactly the tensors the pipeline computes for the same batches, and the plain eager fp32
    passes of the same models (the models as their packages ship them: unfused EfficientNet-Lite0 and the
    transformers MiniLM under torch.inference_mode; BatchNorm folding is already an optimisation), on the
    engine's device (a GPU engine is compared with plain fp32 on the same GPU)."""

    models: LoadedModels
    detector: Detector
    listings: list[ListingInput]
    batches: list[list[ListingInput]]
    followups: list[list[ListingInput]]  # per batch, the listings the fast path leaves to a follow-up scan
    img_x: list[torch.Tensor]
    txt_x: list[dict[str, torch.Tensor]]
    plain_image: ImageForward
    plain_text: TextForward

    @classmethod
    def load(cls, bundle_dir: str, n_listings: int, batch: int, config: ModelsConfig,
             verbose: bool = False) -> ScanWork:

        t0 = time.perf_counter()
        models = load_models(config)
        if verbose:
            print(f"engine={models.engine} models loaded in {time.perf_counter() - t0:.1f}s ({load_average()})")
        b = read_bundle(bundle_dir)
        cache = os.path.join(config.engine_cache or "/tmp", "ac-bench-embed-cache")
        t0 = time.perf_counter()
        index = ReferenceIndex.build(b.brands, b.references, models, cache_dir=cache)
        if verbose:
            print(f"index: {index.counts} built in {time.perf_counter() - t0:.1f}s")
        det = Detector(models, index)
        # 1 image + title each, JPEG bytes in memory (what a worker has after reading the upload).
        listings = []
        for lst in [lst for lst in b.listings if lst.image_paths][:n_listings]:
            with open(lst.image_paths[0], "rb") as f:
                listings.append(dataclasses.replace(lst, description="", image_paths=(f.read(),)))
        batches = [listings[i:i + batch] for i in range(0, len(listings), batch)]
        cfg = models.image.config
        img_x = [models.image.preprocess([load_image(lst.image_paths[0], draft_size=cfg.draft_size) for lst in bt])
                 for bt in batches]
        txt_x = [models.text.tokenize([f"{lst.title}. {lst.description}" for lst in bt]) for bt in batches]
        # Workers scan on the fast path (OCR deferred); the listings whose text names no brand get an OCR
        # follow-up scan (OCR and the small-logo stage) that replaces the fast result.
        followups = [[lst for lst, d in zip(bt, det.scan(bt, ocr=False), strict=True) if d.followup_pending]
                     for bt in batches]
        # The baseline runs on the engine's device: on a GPU, plain eager fp32 on the same GPU.
        device = None if models.device == "cpu" else models.device
        plain_net = build_effnet(models.config.effnet_weights).to(device or "cpu")
        plain_text = (models.text.eager_forward if device is None
                      else eager_text(copy.deepcopy(models.text.model).to(device), device))
        return cls(models, det, listings, batches, [f for f in followups if f], img_x, txt_x,
                   eager_image(plain_net, device), plain_text)

    def jobs(self, mode: str) -> list[Callable[[], object]]:
        """One job per batch, in order."""
        if mode == "pipeline":
            return [lambda bt=bt: self.detector.scan(bt, ocr=False) for bt in self.batches]
        if mode == "followups":
            return [lambda bt=bt: self.detector.scan(bt, ocr=True) for bt in self.followups]
        image, text = ((self.models.image.forward, self.models.text.forward) if mode == "raw"
                       else (self.plain_image, self.plain_text))
        return [lambda x=x, enc=enc: (image(x), text(enc)) for x, enc in zip(self.img_x, self.txt_x, strict=True)]


class ScanLanes:
    """``lanes`` scan processes sharing the cores (``split_cores(lanes)`` threads each), each loading the models
    and taking the next batch of a job list when it is done: what a worker's pool processes do with a queue of
    scan tasks. Real processes, not threads: the pipeline's Python parts would otherwise queue on one GIL,
    which the workers' processes do not share."""

    def __init__(self, lanes: int, bundle_dir: str, n_listings: int, batch: int, config: ModelsConfig):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited OpenMP or ONNX Runtime threads
        self.next_job = ctx.Value("i", 0)
        self.conns, self.procs = [], []
        for _ in range(lanes):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_lane_main, args=(there, self.next_job, bundle_dir, n_listings, batch, lanes, config),
                               daemon=True, name="bench-lane")
            proc.start()
            self.conns.append(here)
            self.procs.append(proc)

    def ready(self) -> None:
        self._gather()

    def run(self, mode: str) -> float:
        """Seconds for the lanes to work through every job of ``mode`` together."""
        with self.next_job.get_lock():
            self.next_job.value = 0
        t0 = time.perf_counter()
        for conn in self.conns:
            conn.send(mode)
        self._gather()
        return time.perf_counter() - t0

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs, strict=True):
            conn.send(None)
            proc.join(timeout=30)

    def _gather(self) -> None:
        for conn in self.conns:
            reply = conn.recv()
            if reply != "ok":
                raise RuntimeError(f"a bench lane failed:\n{reply}")


def _lane_main(conn, next_job, bundle_dir: str, n_listings: int, batch: int, lanes: int,
               config: ModelsConfig) -> None:
    import traceback


    try:
        threads = hardware.split_cores(lanes)
        hardware.configure(threads, config.image_threads)
        work = ScanWork.load(bundle_dir, n_listings, batch, dataclasses.replace(config, torch_threads=threads))
        jobs = {mode: work.jobs(mode) for mode in MODES}
        for mode in ("pipeline", "raw", "eager"):  # warm-up (first-call allocations, lazy init)
            for job in jobs[mode]:
                job()
        conn.send("ok")
        while (mode := conn.recv()) is not None:
            todo = jobs[mode]
            while True:
                with next_job.get_lock():
                    k = next_job.value
                    next_job.value += 1
                if k >= len(todo):
                    break
                todo[k]()
            conn.send("ok")
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(traceback.format_exc())


def ocr_ms_per_image(work: ScanWork, max_images: int = 24) -> float:
    """Milliseconds per image OCR takes alone, on the first images of the follow-up listings (0: none, or no OCR)."""

    sources = [lst.image_paths[0] for batch in work.followups for lst in batch if lst.image_paths][:max_images]
    if not sources or not ocr_available():
        return 0.0
    images = []
    for src in sources:
        try:
            images.append(load_image(src, draft_size=MAX_SIDE))
        except ImageError:
            continue
    if not images:
        return 0.0
    image_text(images[0])  # the engine loads outside the timing
    t0 = time.perf_counter()
    for im in images:
        image_text(im)
    return 1000 * (time.perf_counter() - t0) / len(images)


def bench_scan(bundle_dir: str, n_listings: int, batch: int, rounds: int, lanes: int = 1,
               config: ModelsConfig | None = None) -> dict[str, float]:
    """The pipeline and the engine's raw passes in ``lanes`` scan processes (``ScanLanes``; one lane runs in
    this process on every core); the plain eager baseline as one stream on every core in this process."""
    import torch


    cores = os.cpu_count() or 1
    config = config or ModelsConfig()
    pool = ScanLanes(lanes, bundle_dir, n_listings, batch, config) if lanes > 1 else None  # they load while we do
    try:
        work = ScanWork.load(bundle_dir, n_listings, batch,
                             dataclasses.replace(config, torch_threads=split_cores(lanes)), verbose=True)
        models = work.models
        jobs = {mode: work.jobs(mode) for mode in MODES}

        def here(mode: str, threads: int) -> Callable[[], None]:
            def run() -> None:
                torch.set_num_threads(threads)
                for job in jobs[mode]:
                    job()

            return run

        def in_lanes(mode: str) -> Callable[[], object]:
            return (lambda: pool.run(mode)) if pool else here(mode, cores)

        pipeline, engine_raw, eager = in_lanes("pipeline"), in_lanes("raw"), here("eager", cores)
        if pool:
            pool.ready()  # each lane has warmed up its own copies
        else:
            pipeline()  # warm-up (first-call allocations, lazy init)
            engine_raw()
        eager()
        t = {"pipeline": float("inf"), "raw": float("inf"), "eager": float("inf")}
        round_ratios = []  # pipeline_vs_raw of each round: its two modes ran back to back, under the same load
        for _ in range(rounds):  # interleaved, so a burst of load hits every mode alike
            this = {"pipeline": _best(pipeline, 1), "raw": _best(engine_raw, 1), "eager": _best(eager, 1)}
            round_ratios.append(this["raw"] / this["pipeline"])
            t = {mode: min(t[mode], this[mode]) for mode in t}
        t_follow = _best(in_lanes("followups"), 1)
        ocr_ms = ocr_ms_per_image(work)
        # The same plain eager passes in the pipeline's lanes, for context: what lanes alone buy the baseline.
        t_eager_lanes = _best(in_lanes("eager"), 1) if pool else t["eager"]
    finally:
        if pool:
            pool.close()
    n = len(work.listings)
    n_follow = sum(map(len, work.followups))
    rate = {k: n / v for k, v in t.items()}

    # Accuracy of the engine against the plain fp32 reference on the same inputs.
    ge = np.concatenate([models.image.forward(x).mean(dim=(2, 3)).numpy() for x in work.img_x])
    gr = np.concatenate([work.plain_image(x).mean(dim=(2, 3)).numpy() for x in work.img_x])
    titles = [lst.title for lst in work.listings]
    te = models.text.embed(titles)
    fwd, models.text.forward = models.text.forward, work.plain_text
    try:
        tr = models.text.embed(titles)
    finally:
        models.text.forward = fwd
    ci, ct = _cos(ge, gr), np.sum(te * tr, axis=1)
    cos_img, cos_txt = float(np.min(ci)), float(np.min(ct))
    print(f"{n} listings in batches of {batch}, best of {rounds} rounds ({load_average()})")
    print(f"  pipeline and raw: {lanes} lane(s) of {split_cores(lanes)} thread(s)"
          + (", each a process like a worker's pool process" if pool else " in one process")
          + (f"; plain eager: one stream on {cores} threads" if models.device == "cpu"
             else f"; plain eager fp32 on the same GPU ({models.device}), one stream"))
    print(f"  pipeline (decode+embed+search+score): {rate['pipeline']:8.1f} listings/s (OCR deferred)")
    print(f"  pipeline_vs_raw per round: {' '.join(f'{r:.2f}' for r in round_ratios)}; median "
          f"{statistics.median(round_ratios):.2f}, spread {min(round_ratios):.2f}-{max(round_ratios):.2f}")
    print(f"  + OCR follow-ups ({n_follow} of {n} listings, text names no brand, OCR "
          f"{ocr_status()}): {n / (t['pipeline'] + t_follow):8.1f} listings/s all told "
          f"({(t['pipeline'] / (t['pipeline'] + t_follow)):.2f} of the fast path)")
    print(f"  follow-up cost: {1000 * t_follow / max(n_follow, 1):.0f} ms per follow-up listing "
          f"(OCR {ocr_ms:.0f} ms per image, one stream, beside the small-logo stage in a scan)")
    print(f"  raw {models.engine:7s} forward (image+text): {rate['raw']:8.1f} listings/s")
    print(f"  plain eager fp32 forward (image+text):{rate['eager']:8.1f} listings/s"
          + (f" ({n / t_eager_lanes:.1f} in the same {lanes} lanes)" if pool else ""))
    print(f"  raw {models.engine} is {rate['raw'] / rate['eager']:.2f}x plain eager: the most the pipeline's "
          f"speedup_vs_eager can reach here ({cpu_summary(models.device)})")
    print(f"  cosine vs plain fp32: image min {cos_img:.5f} mean {np.mean(ci):.5f}  "
          f"text min {cos_txt:.5f} mean {np.mean(ct):.5f}")
    return {"pipeline_vs_raw": statistics.median(round_ratios), "pipeline_vs_raw_min": min(round_ratios),
            "pipeline_vs_raw_max": max(round_ratios), "speedup_vs_eager": rate["pipeline"] / rate["eager"],
            "listings_per_s": rate["pipeline"], "all_told_per_s": n / (t["pipeline"] + t_follow),
            "followup_ms_per_listing": 1000 * t_follow / n, "cos_img": cos_img, "cos_txt": cos_txt}


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.cli.bench", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=FAKEBENCH, help="bundle folder (default: ../shared/fakebench)")
    p.add_argument("--listings", type=int, default=48)
    p.add_argument("--batch", type=int, default=8, help="listings per scan task (workers/scan.py SCAN_BATCH)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (pipeline_vs_raw: their median)")
    p.add_argument("--lanes", type=int, default=os.cpu_count() or 1,
                   help="scan lanes (worker processes sharing the cores, one thread each by default); 1 = one "
                        "stream on every core")
    p.add_argument("--banks", action="store_true", help="run the FAISS bank scaling benchmark instead")
    p.add_argument("--sizes", default="10000,100000", help="bank sizes for --banks (1,000,000 x 1280-d needs ~6 GB)")
    add_model_options(p, threads=False)  # the lanes share the cores: split_cores(lanes) threads each
    a = p.parse_args(argv)

    config = models_config(a)
    hardware.configure(hardware.split_cores(a.lanes), config.image_threads)
    if a.banks:
        from ml.cli.bench_banks import main as bench_banks_main

        return bench_banks_main(["--sizes", a.sizes])
    r = bench_scan(os.path.abspath(a.bundle), a.listings, a.batch, a.rounds, a.lanes, config)
    print(f"pipeline_vs_raw={r['pipeline_vs_raw']:.2f} pipeline_vs_raw_min={r['pipeline_vs_raw_min']:.2f} "
          f"pipeline_vs_raw_max={r['pipeline_vs_raw_max']:.2f} speedup_vs_eager={r['speedup_vs_eager']:.2f} "
          f"listings_per_s={r['listings_per_s']:.1f} all_told_per_s={r['all_told_per_s']:.1f} "
          f"followup_ms_per_listing={r['followup_ms_per_listing']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

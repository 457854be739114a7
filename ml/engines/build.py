"""Builds the engine asked for, walking its fallback order (``ml.engines.policy.FALLBACKS``) until one starts."""
from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from ml.engines.base import EngineRequest, ImageForward, TextForward
from ml.engines.compiled import build as build_compile
from ml.engines.cuda import build as build_cuda
from ml.engines.eager import build as build_eager
from ml.engines.mixed import build as build_mixed
from ml.engines.onnx import build as build_onnx
from ml.engines.policy import fallback_order

log = logging.getLogger(__name__)

Builder = Callable[[torch.nn.Module, torch.nn.Module, EngineRequest], tuple[str, ImageForward, TextForward]]
BUILDERS: dict[str, Builder] = {"cuda": build_cuda, "mixed": build_mixed, "onnx": build_onnx,
                                "compile": build_compile, "eager": build_eager}


def build_forwards(engine: str, image_model: torch.nn.Module, text_model: torch.nn.Module, *, input_size: int,
                   batch: int, threads: int, extra_sizes: tuple[int, ...] = (), bf16: str = "auto",
                   cache_dir: str | None = None) -> tuple[str, ImageForward, TextForward]:
    """Return ``(engine actually used, image forward, text forward)``; ``+bf16-text`` after ``mixed`` or
    ``onnx`` when the text encoder runs in bf16 (``bf16="1"``, see ``ml.engines.policy``). The image forward
    serves ``input_size`` and ``extra_sizes`` (compiled engines compile each at load, ``cuda`` captures each).
    ``cache_dir`` holds the ONNX exports (None: the user's cache folder).

    An engine that cannot start (no CUDA device, no C++ compiler, an export error) degrades to the next of its
    fallback order, with a warning, so a worker on a bare machine still starts.
    """
    request = EngineRequest(sizes=(input_size, *[s for s in extra_sizes if s != input_size]), batch=batch,
                            threads=threads, bf16=bf16, cache_dir=cache_dir)
    order = fallback_order(engine, bf16)
    for name, after in zip(order, [*order[1:], None], strict=True):
        if after is None:  # the last resort: no fallback left to catch its failure
            return BUILDERS[name](image_model, text_model, request)
        try:
            return BUILDERS[name](image_model, text_model, request)
        except Exception:  # noqa: BLE001 - no GPU, a driver, compiler or export error: the next engine runs
            log.warning("engine %s unavailable, falling back to %s", name, after, exc_info=True)
    raise AssertionError(f"empty fallback order for {engine!r}")

"""The ``compile`` engine: both whole models under torch.compile with weight freezing, fp32 (or bf16 autocast
everywhere with ``bf16="1"``). It pays its compile time at load, never per task."""
from __future__ import annotations

import logging
import time

import torch

from ml.engines.base import TEXT_INPUTS, EngineRequest, ImageForward, TextForward, compiled
from ml.engines.policy import bf16_everywhere

log = logging.getLogger(__name__)


def compile_image(model: torch.nn.Module, sizes: tuple[int, ...], batch: int, bf16: str = "auto") -> ImageForward:
    """Inductor with weight freezing (+ bf16 autocast with ``bf16="1"``); compiled and warmed up here for each
    input size in ``sizes``."""
    fn = compiled(model.forward_features, dynamic=False)
    half = bf16_everywhere(bf16)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            return fn(x).float()

    t0 = time.perf_counter()
    for size in sizes:
        forward(torch.zeros(batch, 3, size, size))
    log.info("compiled image model in %.1fs (bf16=%s)", time.perf_counter() - t0, half)
    return forward


def compile_text(model: torch.nn.Module, bf16: str = "auto") -> TextForward:
    fn = compiled(model, dynamic=True)
    half = bf16_everywhere(bf16)

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            return fn(**{k: enc[k] for k in TEXT_INPUTS if k in enc}).last_hidden_state.float()

    return forward


def build(image_model: torch.nn.Module, text_model: torch.nn.Module,
          request: EngineRequest) -> tuple[str, ImageForward, TextForward]:
    return ("compile", compile_image(image_model, request.sizes, request.batch, request.bf16),
            compile_text(text_model, request.bf16))

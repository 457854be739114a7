"""The ``mixed`` engine, the default on CPUs whose bf16 units are fast: each part of each model runs where it is
fast and still exact enough. EfficientNet's stem and first block in fp32 on ONNX Runtime, the rest in bf16
channels-last under torch.compile; MiniLM packed under torch.compile (``text_packing``), fp32 unless the bf16
policy is ``1`` (see ``ml.engines.policy``)."""
from __future__ import annotations

import copy
import logging
import time

import torch

from ml.engines.base import EngineRequest, ImageForward, TextForward, compiled
from ml.engines.onnx_cache import IMAGE_AXES, cache_path, export_once, session, weights_key
from ml.engines.policy import mixed_ok
from ml.engines.text_packing import policy_text

log = logging.getLogger(__name__)

FP32_BLOCKS = 1  # EfficientNet blocks kept in fp32 after the stem (see ml.engines.policy on precision)


class _Stem(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, blocks: int):
        super().__init__()
        self.net, self.blocks = net, blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net.bn1(self.net.conv_stem(x))
        for block in self.net.blocks[: self.blocks]:
            x = block(x)
        # NHWC out: ONNX Runtime writes it straight from its blocked layout, and the body's channels-last bf16
        # input is then a plain cast (a cheaper hand-over, bit-identical)
        return x.permute(0, 2, 3, 1)


class _Body(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, blocks: int):
        super().__init__()
        self.net, self.blocks = net, blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.net.blocks[self.blocks:]:
            x = block(x)
        return self.net.bn2(self.net.conv_head(x))


def mixed_image(model: torch.nn.Module, sizes: tuple[int, ...], threads: int,
                cache_dir: str | None = None) -> ImageForward:
    """Stem + first block in fp32 (ONNX Runtime), the rest in bf16 channels-last under torch.compile.

    The batch dimension is compiled dynamic (one graph for every batch size > 1, plus batch 1), for each input
    size in ``sizes``, all warmed up here: no task compiles.
    """
    key = weights_key(model, sizes[0], FP32_BLOCKS, "nhwc")
    path = cache_path(cache_dir, f"effnet-stem{FP32_BLOCKS}-nhwc-hw-{key}.onnx")
    x = torch.zeros(2, 3, sizes[0], sizes[0])
    export_once(path, _Stem(model, FP32_BLOCKS), (x,), ["x"], IMAGE_AXES)
    stem = session(path, threads)
    body = _Body(copy.deepcopy(model), FP32_BLOCKS).to(torch.bfloat16).to(memory_format=torch.channels_last).eval()
    fn = compiled(body, dynamic=False)

    def forward(x: torch.Tensor) -> torch.Tensor:
        h = torch.from_numpy(stem.run(None, {"x": x.numpy()})[0]).permute(0, 3, 1, 2)  # channels-last view
        h = h.to(dtype=torch.bfloat16)  # one copy, keeps channels-last
        if h.shape[0] > 1:
            torch._dynamo.mark_dynamic(h, 0)
        with torch.inference_mode():
            return fn(h).float()

    t0 = time.perf_counter()
    for size in sizes:
        for n in (2, 1):
            forward(torch.zeros(n, 3, size, size))
    log.info("mixed image engine compiled in %.1fs", time.perf_counter() - t0)
    return forward


def build(image_model: torch.nn.Module, text_model: torch.nn.Module,
          request: EngineRequest) -> tuple[str, ImageForward, TextForward]:
    if not mixed_ok(request.bf16):
        raise RuntimeError("needs fast bf16 units (or bf16 policy 1 on slow ones) and a bf16 policy other than 0")
    suffix, text = policy_text(text_model, request.bf16)
    return "mixed" + suffix, mixed_image(image_model, request.sizes, request.threads, request.cache_dir), text

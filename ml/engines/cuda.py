"""The ``cuda`` engine, the default where torch sees a GPU: both models on the GPU, float32 CPU tensors in and
out like every engine. EfficientNet as CUDA graphs (fp32 stem and first block, fp16 after, see
``ml.engines.policy`` on precision); MiniLM in bf16."""
from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator

import torch

from ml.engines.base import TEXT_INPUTS, TEXT_SAMPLE, EngineRequest, ImageForward, TextForward

log = logging.getLogger(__name__)

CUDA_IMAGE_DTYPE = torch.float16  # EfficientNet's GPU copy, after its fp32 stem and first blocks (see Precision)
CUDA_FP32_BLOCKS = 1  # EfficientNet blocks kept in IEEE fp32 after the stem (0: the stem in CUDA_IMAGE_DTYPE too)
CUDA_TEXT_DTYPE = torch.bfloat16  # MiniLM's GPU copy
CUDA_GRAPHS = True  # replay the image model as CUDA graphs, one per (batch size, input size)


def _pinned(x: torch.Tensor) -> torch.Tensor:
    """``x`` in page-locked memory: its copy to the GPU is one DMA, not staged through a driver buffer."""
    return x if x.is_pinned() else x.pin_memory()


def _to_cpu(y: torch.Tensor) -> torch.Tensor:
    """``y`` (on the GPU) as float32 on the CPU: cast on the GPU, copied into page-locked memory, then waited
    for (the caller reads it at once)."""
    y = y.float()
    if y.device.type == "cpu":
        return y
    out = torch.empty_strided(y.shape, y.stride(), dtype=torch.float32, pin_memory=True)
    out.copy_(y, non_blocking=True)
    torch.cuda.current_stream(y.device).synchronize()
    return out


@contextlib.contextmanager
def _ieee_fp32() -> Iterator[None]:
    """fp32 convolutions without TF32 (cuDNN's default on Ampere and later rounds their inputs to 10 bits, as
    coarse as fp16). Captured graphs keep the kernels chosen here."""
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = old


def image_runner(model: torch.nn.Module, device: torch.device, dtype: torch.dtype,
                 fp32_blocks: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A channels-last copy of EfficientNet on ``device``: stem and first ``fp32_blocks`` blocks (if > 0) in
    IEEE fp32, the rest in ``dtype``. Returns float32 NCHW on the device -> float32 feature map on the device
    (``forward_features``)."""
    cl = torch.channels_last
    net = copy.deepcopy(model).to(device=device, memory_format=cl).eval()
    stem = [net.conv_stem, net.bn1]
    head = [*stem, *net.blocks[:fp32_blocks]] if fp32_blocks else []
    body = [*([] if head else stem), *net.blocks[fp32_blocks:], net.conv_head, net.bn2]
    for module in body:
        module.to(dtype)

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=cl)
        with _ieee_fp32():
            for module in head:
                x = module(x)
        x = x.to(dtype)
        for module in body:
            x = module(x)
        return x.float()

    return run


def cuda_image(model: torch.nn.Module, sizes: tuple[int, ...], batch: int, *, device: str = "cuda",
               dtype: torch.dtype | None = None, fp32_blocks: int | None = None,
               graphs: bool | None = None) -> ImageForward:
    """EfficientNet on the GPU (``image_runner``; defaults: the ``CUDA_*`` settings above).

    With ``graphs`` each batch size 1..``batch`` at each input size in ``sizes`` is captured at load as a CUDA
    graph: a call is then a copy in, one replay and a copy out, instead of ~100 kernel launches from Python,
    most of whose cost is the CPU's. Other shapes (a larger batch is cut into ``batch``-sized pieces) run the
    same module without a graph. Replays share static buffers, so calls take a lock (one GPU; the lanes of a
    process queue for it anyway).

    cuDNN spends seconds on the first run of each new shape, so capturing every shape here makes
    ``load_models`` slow, paid once at load and not by a task. cuDNN autotuning (``cudnn.benchmark``) gave no
    faster replays, so it stays off.
    """
    dtype = dtype or CUDA_IMAGE_DTYPE
    fp32_blocks = CUDA_FP32_BLOCKS if fp32_blocks is None else fp32_blocks
    graphs = CUDA_GRAPHS if graphs is None else graphs
    dev = torch.device(device)
    run = image_runner(model, dev, dtype, fp32_blocks)
    captured: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor, torch.cuda.CUDAGraph]] = {}
    lock = threading.Lock()

    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > batch:
            return torch.cat([forward(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
        with lock, torch.no_grad():
            xin = x if dev.type == "cpu" else _pinned(x)
            hit = captured.get(tuple(x.shape))
            if hit is None:
                return _to_cpu(run(xin.to(dev, non_blocking=True)))
            static_in, static_out, graph = hit
            static_in.copy_(xin, non_blocking=True)
            graph.replay()
            return _to_cpu(static_out)

    t0 = time.perf_counter()
    pool = torch.cuda.graph_pool_handle() if graphs and dev.type == "cuda" else None
    with torch.no_grad():
        for size in sizes:
            for n in range(batch, 0, -1):
                x = torch.randn(n, 3, size, size)
                if pool is None:
                    forward(x)  # cuDNN's first run of this shape, here and not in a task
                else:
                    captured[tuple(x.shape)] = _capture(run, x.to(dev), pool)
    log.info("cuda image engine (%s, %d fp32 blocks, %d graphs) ready in %.1fs", str(dtype).removeprefix("torch."),
             fp32_blocks, len(captured), time.perf_counter() - t0)
    return forward


def _capture(run: Callable[[torch.Tensor], torch.Tensor], static_in: torch.Tensor,
             pool: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.cuda.CUDAGraph]:
    """Warm ``run`` up on a side stream (cuDNN autotuning, allocations), then capture it as a CUDA graph reading
    ``static_in``; returns ``(static_in, static_out, graph)``. Graphs share one memory pool (they never run at
    once)."""
    side = torch.cuda.Stream(static_in.device)
    side.wait_stream(torch.cuda.current_stream(static_in.device))
    with torch.cuda.stream(side):
        for _ in range(3):
            run(static_in)
    torch.cuda.current_stream(static_in.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        static_out = run(static_in)
    return static_in, static_out, graph


def cuda_text(model: torch.nn.Module, *, device: str = "cuda", dtype: torch.dtype | None = None) -> TextForward:
    """MiniLM on the GPU: a ``dtype`` copy run on the padded batch as the tokenizer gives it (on the GPU the
    padding costs nothing worth packing away), hidden states back as float32 on the CPU. No graphs: every batch
    has another length. The text model is launch-bound on the GPU, and bf16 was both the fastest dtype and
    within the bar."""
    dtype = dtype or CUDA_TEXT_DTYPE
    dev = torch.device(device)
    net = copy.deepcopy(model).to(device=dev, dtype=dtype).eval()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            feed = {k: enc[k].to(dev, non_blocking=True) for k in TEXT_INPUTS if k in enc}
            return _to_cpu(net(**feed).last_hidden_state)

    forward(TEXT_SAMPLE)
    return forward


def build(image_model: torch.nn.Module, text_model: torch.nn.Module,
          request: EngineRequest) -> tuple[str, ImageForward, TextForward]:
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device: torch.cuda.is_available() is False")
    return "cuda", cuda_image(image_model, request.sizes, request.batch), cuda_text(text_model)

"""What every engine shares: the forward contracts, the build request and torch.compile's settings."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# An engine only replaces the network call, so the embedders keep one code path (preprocess, pooling,
# normalisation) whatever runs underneath:
ImageForward = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, S, S) float32 -> (B, C, H, W) float32 feature map
TextForward = Callable[[dict[str, torch.Tensor]], torch.Tensor]  # tokenizer dict -> (B, T, H) float32 hidden
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TEXT_SAMPLE = {"input_ids": torch.tensor([[101, 2023, 102], [101, 102, 0]]),
               "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])}  # warms a text engine up at load


@dataclass(frozen=True)
class EngineRequest:
    """What an engine is built for: the image input sizes it serves (each compiled or captured at load, so no
    task pays for it), the scan batch, the intra-op threads, the bf16 policy (``ml.engines.policy.bf16_policy``)
    and the folder of exported ONNX files (None: the user's cache folder)."""

    sizes: tuple[int, ...]
    batch: int
    threads: int
    bf16: str = "auto"
    cache_dir: str | None = None


def compiled(fn: Callable[..., object], *, dynamic: bool) -> Callable[..., object]:
    """``torch.compile`` with weight freezing (weights become constants Inductor folds and pre-packs).

    Each model built in a process adds graphs under the same code objects (a module's ``forward``), and past
    Dynamo's recompile limit (8) the next model silently runs eager: in bf16 that is slower and no longer the
    same result for a batch of 1 and of 2. A process that builds several (the test suite, the bench's lanes)
    gets a higher limit.
    """
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    inductor.freezing = True
    dynamo.recompile_limit = max(dynamo.recompile_limit, 64)
    return torch.compile(fn, dynamic=dynamic)

"""MiniLM on packed token batches: each row's real tokens back to back, so the encoder computes nothing for
padding. The CPU engines (``mixed``, ``onnx``) run their text encoder this way under torch.compile."""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

import torch

from ml.engines.base import TEXT_SAMPLE, TextForward, compiled
from ml.engines.policy import bf16_everywhere

log = logging.getLogger(__name__)

PACK_TOKENS = 256  # tokens per packed sequence: attention over a pack grows with its square


def pack_tokens(enc: dict[str, torch.Tensor]) -> list[tuple[slice, dict[str, torch.Tensor]]]:
    """A padded tokenizer batch as packed sequences: each row's real tokens back to back, positions restarting
    per row, attention only within a row (a block-diagonal mask).

    The encoder then computes nothing for padding, which on titles of uneven length is a good part of the
    batch, and the hidden states of the real tokens are those of the padded run (the same maths). Rows are
    grouped in order into packs of at most ``PACK_TOKENS`` tokens (a longer row is a pack of its own).
    """
    mask = enc["attention_mask"].bool()
    lens = mask.sum(1).tolist()
    types = enc.get("token_type_ids")
    packs, start, total = [], 0, 0
    for row, n in enumerate([*lens, None]):
        if row > start and (n is None or total + n > PACK_TOKENS):
            rows = slice(start, row)
            m = mask[rows]
            seg = torch.repeat_interleave(torch.arange(row - start), torch.tensor(lens[rows]))
            starts = torch.cumsum(torch.tensor([0, *lens[rows][:-1]]), 0)
            ids = enc["input_ids"][rows][m].unsqueeze(0)
            packs.append((rows, {
                "input_ids": ids,
                "attention_mask": (seg[:, None] == seg[None, :])[None, None],
                "position_ids": (torch.arange(len(seg)) - starts[seg]).unsqueeze(0),
                "token_type_ids": types[rows][m].unsqueeze(0) if types is not None else torch.zeros_like(ids),
            }))
            start, total = row, 0
        total += n or 0
    return packs


def run_packed(net: Callable[[dict[str, torch.Tensor]], torch.Tensor],
               enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """``net`` (packed feed -> (1, T, H)) over ``pack_tokens(enc)``, back in the padded (B, T, H) layout with
    zeros at padding (which pooling masks out)."""
    mask = enc["attention_mask"].bool()
    out = None
    for rows, feed in pack_tokens(enc):
        hidden = net(feed)[0]
        if out is None:
            out = hidden.new_zeros((*mask.shape, hidden.shape[-1]))
        out[rows][mask[rows]] = hidden
    assert out is not None, "an empty batch has nothing to encode"
    return out


def packed_text(model: torch.nn.Module, dtype: torch.dtype) -> TextForward:
    """MiniLM in ``dtype`` (a copy; the fp32 model stays the reference), batches run packed, hidden states back
    in fp32.

    A batch runs packed (``pack_tokens``) under torch.compile with freezing and dynamic shapes: one graph for
    every pack length, compiled here, at load. One intra-op thread: a title is ~100 small ops, and with two
    OpenMP threads every op waits on a barrier, which on a busy box (another worker on the other core) made
    batches many times slower. Raises where torch.compile cannot run (e.g. no C++ compiler): the caller picks
    another engine.
    """
    net = copy.deepcopy(model).to(dtype).eval()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # before any compile too: Inductor bakes the thread count into its kernels
        try:
            with torch.inference_mode():
                return run_packed(lambda feed: net(**feed).last_hidden_state, enc).float()
        finally:
            torch.set_num_threads(threads)

    t0 = time.perf_counter()
    net = compiled(net, dynamic=True)
    forward(TEXT_SAMPLE)
    log.info("packed %s text engine compiled in %.1fs", str(dtype).removeprefix("torch."), time.perf_counter() - t0)
    return forward


def policy_text(text_model: torch.nn.Module, bf16: str) -> tuple[str, TextForward]:
    """The packed MiniLM of the CPU engines in the precision the ``bf16`` policy gives it, and the engine-name
    suffix that says so (``+bf16-text``, or nothing for fp32)."""
    half = bf16_everywhere(bf16)
    return ("+bf16-text" if half else ""), packed_text(text_model, torch.bfloat16 if half else torch.float32)

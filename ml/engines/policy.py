"""Which engine runs where, what it falls back to, and in which precision.

Precision (the ``bf16`` policy: ``auto``, ``1`` or ``0``): every engine must keep embeddings within cosine 0.995
of fp32 (the banks are checked against that) and lose nothing on the fakebench dev figures.

* MiniLM in bf16 stays very close to fp32 on titles, but under brand-grouped CV it cost a counterfeit at
  precision 0.95, so ``auto`` keeps MiniLM in fp32 and bf16 text is opt-in (``1``).
* EfficientNet-Lite0 wholly in bf16 drifts below the bar; nearly all of that comes from its first block (the
  largest feature map): with the stem and that block in fp32 the rest in bf16 stays well within it, which is
  what ``mixed`` runs.
* ``1`` asks for bf16 everywhere it runs natively, fast or not (the ``compile`` engine's autocast); ``0`` is
  fp32 throughout.
* On the GPU (``cuda``, not governed by the policy) EfficientNet in bf16, or in fp16 throughout, drifts too far
  on the small-logo stage's tile windows, and cuDNN's default TF32 for fp32 convs rounds as coarsely as fp16;
  the stem and first block in IEEE fp32 (no TF32), the rest fp16, keep every vector within the bar.
"""
from __future__ import annotations

import importlib.util

import torch

from ml.hardware import cpu_flags, cpu_vendor, fast_bf16

ENGINES = ("cuda", "mixed", "onnx", "compile", "eager")
BF16_POLICIES = ("auto", "0", "1")
CPU_CHOICE = "cpu"  # in a fallback order: the CPU's own choice (``cpu_engine``)
# The engines tried, in order, for each engine asked for: an engine that cannot start (no GPU, no C++ compiler
# for torch.compile, an export error) degrades to the next, so a worker on a bare machine still starts.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "cuda": ("cuda", CPU_CHOICE),
    "mixed": ("mixed", "onnx", "eager"),
    "onnx": ("onnx", "eager"),
    "compile": ("compile", "eager"),
    "eager": ("eager",),
}


def resolve_engine(name: str = "auto", bf16: str = "auto") -> str:
    """An engine name (any case) or ``auto`` -> a concrete engine.

    ``auto``: ``cuda`` where torch sees a CUDA device; else ``mixed`` where ONNX Runtime is installed and the
    CPU's bf16 units are fast (``bf16_hardware``; any bf16 units with ``bf16="1"``, none with ``"0"``); on any
    other CPU ``onnx``; without ONNX Runtime ``eager``.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else cpu_engine(bf16)
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)} or auto")
    return name


def cpu_engine(bf16: str = "auto") -> str:
    """What ``auto`` picks on the CPU (also where ``cuda`` falls back to)."""
    if not importlib.util.find_spec("onnxruntime"):
        return "eager"
    return "mixed" if mixed_ok(bf16) and not torch.cuda.is_available() else "onnx"


def fallback_order(engine: str, bf16: str = "auto") -> tuple[str, ...]:
    """The engines ``build_forwards`` tries for ``engine``, in order (``FALLBACKS``, the CPU's choice spelled
    out); the last one, ``eager``, always starts."""
    order: list[str] = []
    for name in FALLBACKS[engine]:
        order += FALLBACKS[cpu_engine(bf16)] if name == CPU_CHOICE else [name]
    return tuple(dict.fromkeys(order))


def bf16_policy(value: str) -> str:
    """The bf16 policy, checked: ``auto`` (``mixed``'s bf16 image body where bf16 is fast), ``1`` (bf16
    everywhere it runs natively), ``0`` (fp32)."""
    value = (value or "auto").strip().lower() or "auto"
    if value not in BF16_POLICIES:
        raise ValueError(f"bf16={value!r}; expected auto, 0 or 1")
    return value


def bf16_hardware() -> bool:
    """Whether bf16 pays here: CUDA, or CPU bf16 units faster than fp32 (``ml.hardware.fast_bf16``). Where
    there are none torch emulates bf16, and where they are slow (Intel AVX512-BF16 without AMX) it runs,
    slower than fp32."""
    return torch.cuda.is_available() or (_onednn() and fast_bf16(cpu_flags(), cpu_vendor()))


def bf16_units() -> bool:
    """Whether bf16 runs natively here at all, fast or not (what ``bf16="1"`` asks for)."""
    return torch.cuda.is_available() or (_onednn() and not cpu_flags().isdisjoint({"avx512_bf16", "amx_bf16"}))


def _onednn() -> bool:
    return torch.backends.mkldnn.is_available()


def mixed_ok(bf16: str = "auto") -> bool:
    """Whether ``mixed`` (its bf16 image body) runs here: fast bf16 units under ``auto``, any with ``1``, never
    with ``0``."""
    policy = bf16_policy(bf16)
    return policy != "0" and (bf16_units() if policy == "1" else bf16_hardware())


def bf16_everywhere(bf16: str = "auto") -> bool:
    """Whether MiniLM (and the ``compile`` engine's autocast) runs in bf16: only with ``1``, where bf16 runs
    natively. Under ``auto`` MiniLM stays fp32 (see the module docstring)."""
    return bf16_policy(bf16) == "1" and bf16_units()

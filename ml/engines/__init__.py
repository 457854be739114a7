"""Inference engines for the two encoders: CUDA, mixed fp32/bf16, ONNX Runtime, torch.compile, or plain eager.

Every engine is just a forward callable with the eager module's contract (``ml.engines.base``), so the
embedders keep one code path (preprocess, pooling, normalisation) and the engine only replaces the network
call. One module per engine (``cuda``, ``mixed``, ``onnx``, ``compiled``, ``eager``), plus the parts they share:
``policy`` (which engine runs where, the fallback order as data, the bf16 policy and why), ``onnx_cache``
(exports cached by a hash of the weights), ``text_packing`` (MiniLM without padding tokens) and ``build`` (the
one entry point, walking the fallback order).

``auto`` is ``cuda`` where torch sees a GPU, ``mixed`` on CPUs with fast bf16 units, ``onnx`` on other CPUs and
``eager`` without ONNX Runtime (``resolve_engine``).
"""
from ml.engines.base import EngineRequest, ImageForward, TextForward
from ml.engines.build import build_forwards
from ml.engines.eager import eager_image, eager_text
from ml.engines.policy import ENGINES, FALLBACKS, bf16_hardware, resolve_engine

__all__ = ["ENGINES", "FALLBACKS", "EngineRequest", "ImageForward", "TextForward", "bf16_hardware",
           "build_forwards", "eager_image", "eager_text", "resolve_engine"]

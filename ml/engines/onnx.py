"""The ``onnx`` engine: EfficientNet in fp32 on ONNX Runtime; MiniLM packed under torch.compile
(``text_packing``), or padded on ONNX Runtime where torch.compile cannot run. The default on CPUs without fast
bf16 units."""
from __future__ import annotations

import logging

import torch

from ml.engines.base import TEXT_INPUTS, EngineRequest, ImageForward, TextForward
from ml.engines.onnx_cache import IMAGE_AXES, cache_path, export_once, session, weights_key
from ml.engines.text_packing import policy_text

log = logging.getLogger(__name__)


class _Features(torch.nn.Module):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)


class _Hidden(torch.nn.Module):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.net(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids).last_hidden_state


def onnx_image(model: torch.nn.Module, input_size: int, threads: int, cache_dir: str | None = None) -> ImageForward:
    path = cache_path(cache_dir, f"effnet-hw-{weights_key(model, input_size)}.onnx")
    x = torch.zeros(2, 3, input_size, input_size)
    export_once(path, _Features(model), (x,), ["x"], IMAGE_AXES)
    sess = session(path, threads)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(sess.run(None, {"x": x.numpy()})[0])

    return forward


def onnx_text(model: torch.nn.Module, threads: int, cache_dir: str | None = None) -> TextForward:
    path = cache_path(cache_dir, f"minilm-{weights_key(model)}.onnx")
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {k: {0: "b", 1: "t"} for k in TEXT_INPUTS} | {"out": {0: "b", 1: "t"}}
    export_once(path, _Hidden(model), (ids, ids, torch.zeros_like(ids)), list(TEXT_INPUTS), axes)
    sess = session(path, threads)

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        ids = enc["input_ids"]
        feed = {k: (enc[k] if k in enc else torch.zeros_like(ids)).numpy().astype("int64") for k in TEXT_INPUTS}
        return torch.from_numpy(sess.run(None, feed)[0])

    return forward


def build(image_model: torch.nn.Module, text_model: torch.nn.Module,
          request: EngineRequest) -> tuple[str, ImageForward, TextForward]:
    image = onnx_image(image_model, request.sizes[0], request.threads, request.cache_dir)
    try:
        suffix, text = policy_text(text_model, request.bf16)
    except Exception:  # noqa: BLE001 - no working torch.compile: the padded batch on ONNX Runtime
        log.warning("packed text engine unavailable, running MiniLM on ONNX Runtime", exc_info=True)
        return "onnx", image, onnx_text(text_model, request.threads, request.cache_dir)
    return "onnx" + suffix, image, text

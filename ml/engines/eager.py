"""The ``eager`` engine: the plain PyTorch module call, which needs nothing beyond torch and never fails to
start; every other engine falls back to it."""
from __future__ import annotations

import torch

from ml.engines.base import TEXT_INPUTS, EngineRequest, ImageForward, TextForward


def eager_image(model: torch.nn.Module, device: str | torch.device | None = None) -> ImageForward:
    """The plain module call. With ``device`` (the model already there) inputs go there and the feature map
    comes back as float32 on the CPU: the same contract as every engine, so a benchmark can run the plain
    fp32 baseline on the engine's own device."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            if device is None:
                return model.forward_features(x)
            return model.forward_features(x.to(device)).float().cpu()

    return forward


def eager_text(model: torch.nn.Module, device: str | torch.device | None = None) -> TextForward:
    """``eager_image`` for MiniLM: tokenizer dict (CPU) -> (B, T, H) float32 on the CPU."""
    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            feed = {k: enc[k] if device is None else enc[k].to(device) for k in TEXT_INPUTS if k in enc}
            hidden = model(**feed).last_hidden_state
            return hidden if device is None else hidden.float().cpu()

    return forward


def build(image_model: torch.nn.Module, text_model: torch.nn.Module,
          request: EngineRequest) -> tuple[str, ImageForward, TextForward]:
    return "eager", eager_image(image_model), eager_text(text_model)

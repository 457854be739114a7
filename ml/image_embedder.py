"""Image vectors: one EfficientNet-Lite0 feature map gives the global vector and all region vectors."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ml.config import EmbedderConfig
from ml.vectors import l2_normalize


def region_boxes(grid: int, windows: tuple[int, ...], stride: int) -> np.ndarray:
    """Normalised (x0, y0, x1, y1) boxes of the sliding windows, in the order ``embed`` returns them."""
    boxes = []
    for w in windows:
        n = (grid - w) // stride + 1
        for i in range(n):  # rows
            for j in range(n):  # cols
                y0, x0 = i * stride, j * stride
                boxes.append((x0 / grid, y0 / grid, (x0 + w) / grid, (y0 + w) / grid))
    return np.asarray(boxes, np.float32)


class ImageEmbedder:
    """Eager fp32 path; a faster engine (compiled / ONNX) can replace ``_features`` later."""

    def __init__(self, model: torch.nn.Module, config: EmbedderConfig):
        self.model = model.eval()
        self.config = config
        self.grid = config.input_size // 32
        self.boxes = region_boxes(self.grid, config.region_windows, config.region_stride)
        self._mean = torch.tensor(config.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(config.std).view(1, 3, 1, 1)

    @property
    def dim(self) -> int:
        return self.config.dim

    def preprocess(self, images: list[Image.Image]) -> torch.Tensor:
        """Squash-resize to the input square and normalise; returns (B, 3, S, S) float32."""
        s = self.config.input_size
        arr = np.stack([np.asarray(im.convert("RGB").resize((s, s), Image.BILINEAR), np.uint8) for im in images])
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
        return (x - self._mean) / self._std

    @torch.inference_mode()
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)

    def embed(self, images: list[Image.Image], *, regions: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Return L2-normalised global vectors (N, D) and region vectors (N, R, D) (or None)."""
        if not images:
            return np.zeros((0, self.dim), np.float32), (np.zeros((0, len(self.boxes), self.dim), np.float32) if regions else None)
        glob, regs = [], []
        bs = self.config.batch_size
        for start in range(0, len(images), bs):
            fmap = self._features(self.preprocess(images[start:start + bs]))
            glob.append(fmap.mean(dim=(2, 3)).numpy())
            if regions:
                regs.append(self._pool_regions(fmap))
        g = l2_normalize(np.concatenate(glob).astype(np.float32))
        r = l2_normalize(np.concatenate(regs).astype(np.float32)) if regions else None
        return g, r

    def _pool_regions(self, fmap: torch.Tensor) -> np.ndarray:
        """Average-pool every window of the feature map: (B, C, H, W) -> (B, R, C)."""
        out = []
        st = self.config.region_stride
        with torch.inference_mode():
            for w in self.config.region_windows:
                p = F.avg_pool2d(fmap, kernel_size=w, stride=st)  # (B, C, n, n)
                out.append(p.flatten(2).transpose(1, 2))
        return torch.cat(out, dim=1).numpy()

    @torch.inference_mode()
    def logits(self, images: list[Image.Image]) -> np.ndarray:
        """ImageNet logits (used by tests to check the weights are the real ones)."""
        return self.model(self.preprocess(images)).numpy()

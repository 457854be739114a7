"""Image vectors: one EfficientNet-Lite0 feature map gives the global vector and all region vectors."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ml.config import EmbedderConfig
from ml.engine import ImageForward, eager_image
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
    """Preprocess + pooling around a swappable network call (``forward``, see ml/engine.py)."""

    def __init__(self, model: torch.nn.Module, config: EmbedderConfig, forward: ImageForward | None = None):
        self.model = model.eval()
        self.config = config
        self.eager_forward = eager_image(self.model)
        self.forward = forward or self.eager_forward
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

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

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
        """Average-pool every window of the feature map: (B, C, H, W) -> (B, R, C).

        Uses a summed-area table in numpy: four lookups per window, single-threaded and allocation-light,
        so pooling ~126 windows never competes with the engine's thread pool.
        """
        f = fmap.numpy() if isinstance(fmap, torch.Tensor) else np.asarray(fmap)
        b, c, h, w = f.shape
        sat = np.zeros((b, c, h + 1, w + 1), np.float32)
        sat[:, :, 1:, 1:] = f.cumsum(2).cumsum(3)
        st = self.config.region_stride
        out = []
        for k in self.config.region_windows:
            y = np.arange(0, h - k + 1, st)
            x = np.arange(0, w - k + 1, st)
            s = (sat[:, :, y[:, None] + k, x[None, :] + k] - sat[:, :, y[:, None], x[None, :] + k]
                 - sat[:, :, y[:, None] + k, x[None, :]] + sat[:, :, y[:, None], x[None, :]])
            out.append((s / (k * k)).reshape(b, c, -1).transpose(0, 2, 1))  # rows then cols, like avg_pool2d
        return np.concatenate(out, axis=1)

    @torch.inference_mode()
    def logits(self, images: list[Image.Image]) -> np.ndarray:
        """ImageNet logits (used by tests to check the weights are the real ones)."""
        return self.model(self.preprocess(images)).numpy()

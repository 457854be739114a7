"""Plain data carriers shared by the workers and the ML core."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BrandInfo:
    brand_id: str
    name: str
    aliases: tuple[str, ...] = ()
    protected_terms: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, doc: dict) -> BrandInfo:
        """From ``dataclasses.asdict`` form (JSON lists back to tuples)."""
        return cls(doc["brand_id"], doc["name"], tuple(doc["aliases"]), tuple(doc["protected_terms"]))


@dataclass(frozen=True)
class ReferenceInfo:
    ref_id: str
    brand_id: str
    title: str
    description: str
    msrp: float | None
    currency: str
    kind: str  # "product" | "logo"
    image_paths: tuple[str, ...]  # absolute file paths

    @classmethod
    def from_dict(cls, doc: dict) -> ReferenceInfo:
        """From ``dataclasses.asdict`` form (JSON lists back to tuples)."""
        return cls(**{**doc, "image_paths": tuple(doc["image_paths"])})


@dataclass(frozen=True)
class SellerInfo:
    seller_id: str
    account_age_days: int = 0
    prior_takedowns: int = 0
    prior_sales: int = 0
    trust_rating: float | None = None  # 350..950 scale
    authorized_brands: frozenset[str] = frozenset()
    name: str = ""  # display name; not a detection signal


@dataclass(frozen=True)
class ListingInput:
    listing_id: str
    seller: SellerInfo
    title: str
    description: str
    price: float | None
    currency: str
    image_paths: tuple[str, ...]


@dataclass
class Match:
    kind: str  # "image" | "region" | "pdq" | "text" | "counterfeit"
    ref_id: str
    brand_id: str
    score: float
    listing_image: int | None = None
    ref_image: int | None = None
    box: tuple[float, float, float, float] | None = None  # normalised x0,y0,x1,y1 in the listing image


@dataclass
class ScanResult:
    """What the detector says about one listing (the Django side stores it as a ``Detection`` row)."""

    listing_id: str
    score: float
    brand_id: str | None
    signals: dict[str, float]
    explanation: list[str]
    matches: list[Match]
    image_vectors: np.ndarray  # (n_images, D) float32 global vectors
    pdq_hashes: list[str]  # hex per decoded listing image (same rows as image_vectors; bad images skipped)
    model_version: str
    errors: list[str] = field(default_factory=list)
    # Text OCR read per listing image position (only images OCR ran on); shown to moderators when it contributed.
    image_text: dict[int, str] = field(default_factory=dict)
    # Index in the listing's image list of each row of image_vectors / pdq_hashes (images that failed to decode
    # have none); None means every image decoded, in order.
    image_positions: list[int] | None = None
    # A fast-path scan (Detector.scan(ocr=False)) skipped work that could change this result: the text names no
    # catalog brand, and OCR is available or the small-logo stage (ml/logo_verify.py) can run. A follow-up scan
    # (ocr=True) of the listing replaces it.
    followup_pending: bool = False

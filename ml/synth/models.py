"""In-memory entities shared by the generation steps, plus the 'studio' that renders and saves images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .config import SynthConfig
from .logo import LogoStyle
from .product import Design, render_product


@dataclass
class Brand:
    brand_id: str
    name: str
    lines: list[str]
    style: LogoStyle
    currency: str
    logo: Image.Image
    products: list[Product] = field(default_factory=list)
    sellers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OtherBrand:
    """A brand that exists in the world but is not in this catalog (g_other_brand)."""

    name: str
    logo: Image.Image
    lines: list[str]


@dataclass
class Product:
    ref_id: str
    brand: Brand
    line: str
    design: Design
    title: str
    description: str
    msrp: float
    currency: str
    photos: list[Image.Image] = field(default_factory=list)


def fit(im: Image.Image, size: int) -> Image.Image:
    """Long side between size/2 and size, RGB."""
    im = im.convert("RGB")
    long = max(im.size)
    if long > size or long < size // 2:
        f = size / long if long > size else (size // 2) / long
        im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.Resampling.LANCZOS)
    return im


class Studio:
    """Renders product cut-outs (caching catalog products only, to bound memory) and writes JPEGs."""

    def __init__(self, out: Path, cfg: SynthConfig) -> None:
        self.out, self.cfg = out, cfg
        (out / "images" / "ref").mkdir(parents=True, exist_ok=True)
        (out / "images" / "lst").mkdir(parents=True, exist_ok=True)
        self.n_images = 0
        self._cache: dict[tuple, Image.Image] = {}

    def cutout(self, d: Design, logo: Image.Image | None, key: str, *, worn: bool = False, mirror: bool = False,
               cache: bool = False) -> Image.Image:
        k = (d, key, worn, mirror)
        if k in self._cache:
            return self._cache[k]
        cut = render_product(d, logo, self.cfg.rng("cutout", key, worn).getrandbits(32), worn=worn, mirror=mirror)
        if cache:
            self._cache[k] = cut
        return cut

    def save(self, im: Image.Image, rel: str) -> str:
        fit(im, self.cfg.image_size).save(self.out / rel, "JPEG", quality=self.cfg.jpeg_quality)
        self.n_images += 1
        return rel

"""Brands (names, aliases, protected terms, logo) and their catalog: logo artwork and product photos."""

from __future__ import annotations

from .canvas import luminance, shade
from .config import SynthConfig
from .logo import catalog_logo_image, random_style, render_logo
from .models import Brand, OtherBrand, Product, Studio, fit
from .names import aliases, everyday_names, invent_names, product_lines
from .product import KINDS, random_design
from .scene import photograph
from .text import CURRENCIES, msrp_for, product_description, product_title


def make_brands(cfg: SynthConfig) -> tuple[list[Brand], list[OtherBrand], list[dict]]:
    """Catalog brands plus a pool of out-of-catalog brands, all with invented names."""
    rng = cfg.rng("brands")
    names = invent_names(rng, cfg.n_brands + max(4, cfg.n_brands // 2))
    taken = {n.lower() for n in names}
    if cfg.everyday:  # a fifth of the brands are named with an ordinary word
        names = [everyday_names(rng, 1, taken)[0] if rng.random() < 0.2 else n for n in names]
    brands, others, rows = [], [], []
    for i, name in enumerate(names):
        style = random_style(rng, name)
        logo = render_logo(style)
        lines = product_lines(rng, rng.randint(3, 5), taken, everyday=0.5 if cfg.everyday else 0.0)
        if i >= cfg.n_brands:
            others.append(OtherBrand(name, logo, lines))
            continue
        b = Brand(name.lower(), name, lines, style, rng.choice(CURRENCIES), logo)
        brands.append(b)
        rows.append({"brand_id": b.brand_id, "name": name, "aliases": aliases(rng, name), "protected_terms": lines})
    return brands, others, rows


def _logo_item(cfg: SynthConfig, studio: Studio, b: Brand) -> dict:
    size = cfg.image_size
    images = [studio.save(catalog_logo_image(b.logo, size, (255, 255, 255)), f"images/ref/{b.brand_id}-logo_0.jpg")]
    if cfg.rng("logo-variant", b.brand_id).random() < 0.6:
        light = luminance(b.style.primary) > 110
        tone = shade(b.style.secondary, 0.25) if light else shade(b.style.secondary, 1.8)
        images.append(studio.save(catalog_logo_image(b.logo, size, tone), f"images/ref/{b.brand_id}-logo_1.jpg"))
    return {"ref_id": f"{b.brand_id}-logo", "brand_id": b.brand_id, "title": f"{b.name} logo",
            "description": f"Official {b.name} logo artwork (reference for logo matching).", "msrp": None,
            "currency": b.currency, "images": images, "kind": "logo"}


def make_catalog(cfg: SynthConfig, studio: Studio, brands: list[Brand]) -> list[dict]:
    """One logo item and 3-6 products per brand; 1-3 photos each (studio packshot first, then other views)."""
    rows = []
    size = cfg.image_size
    for b in brands:
        rng = cfg.rng("catalog", b.brand_id)
        rows.append(_logo_item(cfg, studio, b))
        for j, kind in enumerate(rng.sample(KINDS, rng.randint(*cfg.products_per_brand)), 1):
            d = random_design(rng, kind)
            line = b.lines[(j - 1) % len(b.lines)]
            p = Product(f"{b.brand_id}-{j:02d}", b, line, d, product_title(rng, b.name, line, kind, d.color_name),
                        product_description(rng, b.name, line, kind), msrp_for(rng, kind),
                        b.currency if rng.random() < 0.85 else "USD")
            images = []
            for k in range(rng.choice([1, 2, 2, 3])):
                cut = studio.cutout(d, b.logo, p.ref_id, mirror=k > 0 and rng.random() < 0.3, cache=True)
                photo = fit(photograph(rng, cut, size, bg_style="studio" if k == 0 else None, tilt=0 if k == 0 else 10,
                                       fill=(0.6, 0.85) if k < 2 else (0.95, 1.2), square_bias=0.85), size)
                p.photos.append(photo)
                images.append(studio.save(photo, f"images/ref/{p.ref_id}_{k}.jpg"))
            b.products.append(p)
            rows.append({"ref_id": p.ref_id, "brand_id": b.brand_id, "title": p.title, "description": p.description,
                         "msrp": p.msrp, "currency": p.currency, "images": images, "kind": "product"})
    return rows

"""Runs the generation steps in a fixed order and writes the six JSONL files."""

from __future__ import annotations

import json
from pathlib import Path

from .catalog import make_brands, make_catalog
from .config import SynthConfig, SynthSummary
from .listings import ListingMaker
from .market import make_sellers, plan_recipes
from .models import Studio


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def generate(out_dir: str, cfg: SynthConfig) -> SynthSummary:
    """Brands → catalog → sellers → listings; each step draws from its own named RNG stream."""
    out = Path(out_dir)
    studio = Studio(out, cfg)
    brands, others, brand_rows = make_brands(cfg)
    catalog = make_catalog(cfg, studio, brands)
    market = make_sellers(cfg, brands)
    maker = ListingMaker(cfg, studio, brands, others, market)
    listings, labels = [], []
    for i, recipe in enumerate(plan_recipes(cfg), 1):
        listing, label = maker.make(f"L{i:05d}", recipe)
        listings.append(listing)
        labels.append(label)
    files = {"brands.jsonl": brand_rows, "catalog.jsonl": catalog, "authorized_sellers.jsonl": market.authorized,
             "sellers.jsonl": market.rows, "listings.jsonl": listings, "labels.jsonl": labels}
    for name, rows in files.items():
        _write(out / name, rows)
    categories: dict[str, int] = {}
    for lab in labels:
        categories[lab["category"]] = categories.get(lab["category"], 0) + 1
    return SynthSummary(str(out), {k: len(v) for k, v in files.items()}, categories, studio.n_images)

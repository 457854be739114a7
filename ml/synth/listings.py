"""One listing per recipe: which product, which seller, which photos, what text and price."""

from __future__ import annotations

import dataclasses
import random

from PIL import Image

from .config import SynthConfig
from .logo import distort
from .market import Market
from .models import Brand, OtherBrand, Product, Studio
from .names import misspell
from .printed import font_files
from .product import Design, random_design
from .scene import photograph
from .tamper import collage, geometric, overlay, photometric, screenshot
from .text import COMPAT, GENERIC_WORDS, everyday_use, listing_price, listing_text, msrp_for, product_title


@dataclasses.dataclass
class Draft:
    """What a recipe decided before text and price are written."""

    photos: list[Image.Image]
    title: str
    kind: str
    msrp: float
    brand_id: str | None


class ListingMaker:
    def __init__(self, cfg: SynthConfig, studio: Studio, brands: list[Brand], others: list[OtherBrand],
                 market: Market) -> None:
        self.cfg, self.studio, self.brands, self.others, self.market = cfg, studio, brands, others, market

    def make(self, lid: str, recipe: str) -> tuple[dict, dict]:
        rng = self.cfg.rng("listing", lid)
        b = rng.choice(self.brands)
        p = rng.choice(b.products)
        n_img = rng.choices([1, 2, 3], [0.55, 0.3, 0.15])[0]
        seller = self._seller(rng, recipe, b)
        draft = self._draft(rng, lid, recipe, b, p, n_img, self.market.names[seller])
        title, desc = listing_text(rng, recipe, brand=b.name, title=draft.title, kind=draft.kind,
                                   misspelt=misspell(rng, b.name), seller=self.market.names[seller],
                                   ref_desc=p.description)
        if self.cfg.everyday and recipe in ("g_unbranded", "g_other_brand", "g_resale_used") and rng.random() < 0.6:
            # ordinary words that sit on (or one letter from) a catalog product line's name
            word = rng.choice(rng.choice(self.brands).lines).split()[0]
            desc = f"{desc} {everyday_use(rng, word)}"
        images = [self.studio.save(ph, f"images/lst/{lid.lower()}_{k}.jpg") for k, ph in enumerate(draft.photos)]
        listing = {"listing_id": lid, "seller_id": seller, "title": title, "description": desc,
                   "price": listing_price(rng, recipe, draft.msrp), "currency": p.currency, "images": images}
        label = {"listing_id": lid, "counterfeit": recipe.startswith("cf_"), "brand_id": draft.brand_id, "category": recipe}
        return listing, label

    def _seller(self, rng: random.Random, recipe: str, b: Brand) -> str:
        """Mostly the expected kind of seller, with some crossover so seller history alone cannot decide."""
        if recipe.startswith("g_authorized"):
            return rng.choice(b.sellers)
        bad = recipe.startswith("cf_")
        pool = "counterfeiter" if (rng.random() < 0.88) == bad else "reseller"
        return rng.choice(self.market.pools[pool])

    def _shots(self, rng: random.Random, n: int, d: Design, logo: Image.Image | None, key: str, *,
               worn: bool = False, cache: bool = False, **kw) -> list[Image.Image]:
        return [photograph(rng, self.studio.cutout(d, logo, key, worn=worn, mirror=rng.random() < 0.3, cache=cache),
                           self.cfg.image_size, **kw) for _ in range(n)]

    def _draft(self, rng: random.Random, lid: str, recipe: str, b: Brand, p: Product, n: int, shop: str) -> Draft:
        size = self.cfg.image_size
        out = Draft([], p.title, p.design.kind, p.msrp, b.brand_id)

        def new_design() -> Design:
            d = random_design(rng)
            same = d.kind == p.design.kind and d.color_name == p.design.color_name
            return dataclasses.replace(d, pattern="camo") if same else d

        def off_catalog(d: Design, logo: Image.Image) -> None:
            out.kind, out.msrp = d.kind, msrp_for(rng, d.kind)
            out.title = product_title(rng, b.name, rng.choice(b.lines), d.kind, d.color_name)
            out.photos = self._shots(rng, n, d, logo, lid)

        if recipe == "g_authorized_catalog":
            out.photos = p.photos[:n]
        elif recipe in ("g_authorized_rephoto", "g_resale_new"):
            out.photos = self._shots(rng, n, p.design, b.logo, p.ref_id, cache=True)
            if recipe == "g_resale_new" and rng.random() < 0.25:  # stock photo
                out.photos[0] = rng.choice(p.photos)
        elif recipe == "g_resale_used":
            out.photos = self._shots(rng, n, p.design, b.logo, f"{p.ref_id}/{lid}", worn=True,
                                     bg_style=rng.choice(["surface", "lifestyle", None]))
        elif recipe == "g_unbranded":
            d = random_design(rng, p.design.kind if rng.random() < 0.6 else None, "none")
            d = dataclasses.replace(d, word=rng.choice(GENERIC_WORDS) if rng.random() < 0.4 else "")
            out.kind, out.msrp, out.brand_id = d.kind, msrp_for(rng, d.kind), None
            out.photos = self._shots(rng, n, d, None, lid)
        elif recipe == "g_compatible":
            out.title = COMPAT[p.design.kind].format(b=b.name, l=p.line)
            out.photos = self._shots(rng, n, random_design(rng, p.design.kind, "none"), None, lid)
        elif recipe == "g_other_brand":
            o = rng.choice(self.others)
            d = random_design(rng)
            out.kind, out.msrp, out.brand_id = d.kind, msrp_for(rng, d.kind), None
            out.title = product_title(rng, o.name, rng.choice(o.lines), d.kind, d.color_name)
            out.photos = self._shots(rng, n, d, o.logo, lid)
        elif recipe == "cf_reuse_collage":
            pool = [ph for q in b.products for ph in q.photos]
            out.photos = [collage(rng, [rng.choice(p.photos), *rng.sample(pool, min(len(pool), rng.randint(1, 3)))],
                                         size) for _ in range(n)]
        elif recipe.startswith("cf_reuse"):
            for k in range(n):
                src = p.photos[k % len(p.photos)]
                if recipe == "cf_reuse_geometric":
                    out.photos.append(geometric(rng, src))
                elif recipe == "cf_reuse_photometric":
                    out.photos.append(photometric(rng, src))
                elif recipe == "cf_reuse_overlay":
                    out.photos.append(overlay(rng, src, shop))
                else:
                    price = f"{p.currency} {p.msrp * rng.uniform(0.1, 0.4):.2f}"
                    out.photos.append(screenshot(rng, src, size, p.title, price))
        elif recipe == "cf_logo_new_product":
            off_catalog(new_design(), b.logo)
        elif recipe == "cf_logo_distorted":
            off_catalog(new_design(), distort(rng, b.logo))
        elif recipe in ("cf_text_misspelled", "cf_text_evasion"):
            if rng.random() < 0.5:
                out.photos = self._shots(rng, n, p.design, b.logo, p.ref_id, cache=True)
            else:
                off_catalog(new_design(), distort(rng, b.logo) if rng.random() < 0.3 else b.logo)
        elif recipe == "cf_text_printed":  # the brand name printed as plain text on a new product, nowhere else
            fonts = font_files()
            d = dataclasses.replace(new_design(), logo_mode="none", word=rng.choice([b.name, b.name.upper()]),
                                    font=fonts[rng.randrange(len(fonts))])
            out.kind, out.msrp = d.kind, msrp_for(rng, d.kind)
            out.photos = self._shots(rng, n, d, None, lid)
        else:  # cf_text_desc_only: brand kept out of the title and mostly out of the image
            d = dataclasses.replace(p.design, logo_mode=rng.choice(["none", "blurred", "blurred"]))
            out.photos = self._shots(rng, n, d, b.logo, lid)
        if recipe == "g_compatible":
            out.msrp = p.msrp
        return out

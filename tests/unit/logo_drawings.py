"""Drawn logos and photo backgrounds for the small-logo tests, and a reference index of the drawn logos."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ml.index import ReferenceIndex
from ml.types import BrandInfo, ReferenceInfo

BRANDS = {"ring": "Ringo", "star": "Starco", "cross": "Crosso"}


def draw_logo(kind: str, s: int = 256) -> Image.Image:
    im = Image.new("RGB", (s, s), "white")
    d = ImageDraw.Draw(im)
    if kind == "ring":
        d.ellipse((s * .15, s * .15, s * .85, s * .85), outline=(200, 0, 0), width=int(s * .1))
        d.polygon([(s * .5, s * .3), (s * .7, s * .7), (s * .3, s * .7)], fill=(0, 0, 0))
    elif kind == "star":
        pts = [(s * .5 + s * .4 * np.cos(a) * (1 if k % 2 == 0 else .45),
                s * .5 + s * .4 * np.sin(a) * (1 if k % 2 == 0 else .45))
               for k, a in enumerate(np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:-1])]
        d.polygon(pts, fill=(230, 160, 0))
    elif kind == "cross":
        d.rectangle((s * .4, s * .1, s * .6, s * .9), fill=(180, 0, 120))
        d.rectangle((s * .1, s * .4, s * .9, s * .6), fill=(180, 0, 120))
    else:  # "bars": a logo that is not in the bank
        for i in range(4):
            d.rectangle((s * (.15 + .18 * i), s * .2, s * (.25 + .18 * i), s * .8), fill=(0, 60, 200))
    return im


def background(kind: str, seed: int, w: int = 640, h: int = 480) -> Image.Image:
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        base = np.linspace(60, 200, w)[None, :, None] * np.array([0.6, 0.8, 1.0])[None, None, :]
        arr = np.clip(base.repeat(h, 0) + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr).filter(ImageFilter.GaussianBlur(3))
    im = Image.fromarray((rng.random((h // 16, w // 16, 3)) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    d = ImageDraw.Draw(im)
    for _ in range(20):  # busy: shapes and lines in random colours
        x, y, sz = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(20, 110))
        d.rectangle((x, y, x + sz, y + sz // 2), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return im


def with_logo(bg: Image.Image, kind: str, frac: float, pos: tuple[float, float]) -> Image.Image:
    """Paste a logo covering ``frac`` of the photo area with its top-left at ``pos`` (fractions)."""
    side = int(round((frac * bg.width * bg.height) ** 0.5))
    out = bg.copy()
    out.paste(draw_logo(kind, side), (int(pos[0] * (bg.width - side)), int(pos[1] * (bg.height - side))))
    return out


def logo_bank(root, models) -> ReferenceIndex:
    """An index of the three drawn logos (files written under ``root``), one logo reference per brand."""
    refs = []
    for kind, name in BRANDS.items():
        p = root / f"{kind}.png"
        draw_logo(kind).save(p)
        refs.append(ReferenceInfo(f"{kind}-logo", kind, f"{name} logo", "", None, "USD", "logo", (str(p),)))
    return ReferenceIndex.build([BrandInfo(k, n) for k, n in BRANDS.items()], refs, models)

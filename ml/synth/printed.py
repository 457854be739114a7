"""Words printed on products: several fonts, colours and sizes, straight, tilted or curved, on textures.

Used to measure how well OCR reads a brand printed as plain text on a product (``python -m ml.cli.eval_ocr``) and by
the second development bundle's "brand printed on the product" listings.
"""

from __future__ import annotations

import glob
import math
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .canvas import INKS, RGB, background, print_color, random_color, shade, stands_out

# System fonts the project's machines carry (fonts-dejavu-core; Liberation where present), sorted so a seed
# picks the same font on every machine that has the same fonts. Pillow's bundled font is always in the pool.
FONT_GLOBS = ("/usr/share/fonts/truetype/dejavu/*.ttf", "/usr/share/fonts/truetype/liberation/*.ttf")
LAYOUTS = ("straight", "tilted", "curved", "small")


@lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    files = sorted(f for pattern in FONT_GLOBS for f in glob.glob(pattern)
                   if not any(s in f for s in ("Math", "Symbol", "ExtraLight")))
    return ("",) + tuple(files)  # "" = Pillow's bundled font


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if not path:
        return ImageFont.load_default(size=max(6, size))  # type: ignore[return-value]
    return ImageFont.truetype(path, max(6, size))


@dataclass(frozen=True)
class PrintedWord:
    image: Image.Image
    word: str
    layout: str  # one of LAYOUTS
    font: str  # font file ("" = Pillow's bundled font)


def _contrasting(rng: random.Random, under: RGB) -> RGB:
    """A random print colour that stands out from what it is printed on."""
    for _ in range(20):
        c = random_color(rng, (0.0, 0.9), (0.05, 1.0))
        if stands_out(c, under):
            return c
    return print_color(INKS[0], under)


def _glyphs(text: str, fnt: ImageFont.FreeTypeFont, color: RGB) -> Image.Image:
    x0, y0, x1, y1 = fnt.getbbox(text)
    im = Image.new("RGBA", (max(1, x1 - x0 + 4), max(1, y1 - y0 + 4)), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((2 - x0, 2 - y0), text, font=fnt, fill=color)
    return im


def _curved(text: str, fnt: ImageFont.FreeTypeFont, color: RGB, bend: float) -> Image.Image:
    """Letters set along a circular arc (as on a bottle, a cap's crown or a round badge)."""
    widths = [max(1, fnt.getbbox(ch)[2] - fnt.getbbox(ch)[0]) + 2 for ch in text]
    total = sum(widths)
    radius = total / max(bend, 0.2)
    h = fnt.getbbox("Hg")[3]
    side = int(2 * (radius + h)) + 4
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    cx = cy = side / 2
    angle = -bend / 2
    for ch, w in zip(text, widths, strict=True):
        mid = angle + (w / 2) / radius
        g = _glyphs(ch, fnt, color).rotate(-math.degrees(mid), expand=True, resample=Image.BICUBIC)
        x = cx + radius * math.sin(mid) - g.width / 2
        y = cy - radius * math.cos(mid) - g.height / 2
        im.alpha_composite(g, (int(x), int(y)))
        angle += w / radius
    return im.crop(im.getbbox() or (0, 0, 1, 1))


def printed_word(rng: random.Random, word: str, size: int = 480, layout: str | None = None) -> PrintedWord:
    """A product-like photo: a textured scene, a plain product panel, and ``word`` printed on it."""
    layout = layout or rng.choice(LAYOUTS)
    fonts = font_files()
    font_path = fonts[rng.randrange(len(fonts))]
    bg = background(rng, size, size)
    panel = random_color(rng, (0.0, 0.8), (0.1, 0.95))
    w, h = int(size * rng.uniform(0.6, 0.85)), int(size * rng.uniform(0.45, 0.7))
    x0, y0 = (size - w) // 2 + rng.randint(-size // 12, size // 12), (size - h) // 2 + rng.randint(-size // 12, size // 12)
    d = ImageDraw.Draw(bg)
    d.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=size // 20, fill=panel, outline=shade(panel, 0.7))
    color = _contrasting(rng, panel)
    text = word.upper() if rng.random() < 0.4 else word
    px = int(size * (rng.uniform(0.035, 0.05) if layout == "small" else rng.uniform(0.07, 0.14)))
    fnt = _font(font_path, px)
    if layout == "curved":
        mark = _curved(text, fnt, color, rng.uniform(0.6, 1.4))
    else:
        mark = _glyphs(text, fnt, color)
        if layout == "tilted":
            mark = mark.rotate(rng.uniform(-25, 25), expand=True, resample=Image.BICUBIC)
    if mark.width > w * 0.95:
        mark = mark.resize((int(w * 0.95), max(1, int(mark.height * w * 0.95 / mark.width))), Image.LANCZOS)
    mx = x0 + rng.randint(0, max(0, w - mark.width))
    my = y0 + rng.randint(0, max(0, h - mark.height))
    bg.paste(mark, (mx, my), mark)
    if rng.random() < 0.3:
        bg = bg.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return PrintedWord(bg, word, layout, font_path)

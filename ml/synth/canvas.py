"""Drawing primitives shared by logos, products and scenes: colours, fonts, gradients, backgrounds."""

from __future__ import annotations

import colorsys
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]

PALETTE: dict[str, RGB] = {
    "Black": (28, 28, 30), "White": (238, 238, 236), "Red": (200, 36, 42), "Navy": (30, 44, 92),
    "Royal Blue": (40, 90, 200), "Sky Blue": (120, 180, 230), "Green": (40, 140, 70), "Olive": (110, 112, 60),
    "Yellow": (240, 200, 40), "Orange": (236, 120, 30), "Pink": (236, 130, 170), "Purple": (110, 60, 150),
    "Grey": (130, 132, 136), "Silver": (190, 192, 196), "Beige": (214, 196, 160), "Brown": (120, 76, 44),
    "Teal": (30, 140, 140), "Burgundy": (120, 24, 44), "Mint": (160, 220, 190), "Gold": (200, 160, 60),
}


def random_color(rng: random.Random, sat: tuple[float, float] = (0.4, 0.95), val: tuple[float, float] = (0.3, 0.95)) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val))
    return int(r * 255), int(g * 255), int(b * 255)


def luminance(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


MIN_PRINT_CONTRAST = 70.0  # luminance levels between print and what it is printed on, for it to be read
INKS: tuple[RGB, RGB] = ((20, 20, 22), (245, 245, 245))


def stands_out(c: RGB, *grounds: RGB) -> bool:
    """True when print in ``c`` is legible on every one of ``grounds``."""
    return all(abs(luminance(c) - luminance(g)) >= MIN_PRINT_CONTRAST for g in grounds)


def print_color(preferred: RGB, ground: RGB, *others: RGB) -> RGB:
    """``preferred`` where it stands out from ``ground`` and the ``others`` (a pattern's colours), else the ink (near
    black or near white) that stands out most from ``ground``: a brand is printed on a product to be read, so
    generated print must be readable too."""
    if stands_out(preferred, ground, *others):
        return preferred
    return max(INKS, key=lambda ink: abs(luminance(ink) - luminance(ground)))


def shade(c: RGB, f: float) -> RGB:
    """Darken (f < 1) or lighten (f > 1) a colour, clamped."""
    if f <= 1:
        return tuple(int(v * f) for v in c)  # type: ignore[return-value]
    return tuple(int(v + (255 - v) * (f - 1)) for v in c)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font: no system fonts, identical output everywhere."""
    return ImageFont.load_default(size=max(6, int(size)))  # type: ignore[return-value]


def text_image(text: str, size: int, color: tuple[int, ...], stroke: int = 0, font_path: str = "") -> Image.Image:
    """Tightly cropped RGBA rendering of a text line (Pillow's bundled font unless ``font_path`` names one)."""
    f = ImageFont.truetype(font_path, max(6, int(size))) if font_path else font(size)
    x0, y0, x1, y1 = f.getbbox(text, stroke_width=stroke)
    im = Image.new("RGBA", (max(1, x1 - x0 + 2), max(1, y1 - y0 + 2)), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((1 - x0, 1 - y0), text, font=f, fill=color, stroke_width=stroke, stroke_fill=color)
    return im


def vertical_gradient(w: int, h: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    arr = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.broadcast_to(arr, (h, w, 3)).copy()


def background(rng: random.Random, w: int, h: int, style: str | None = None) -> Image.Image:
    """Studio sweep, coloured paper, textured surface or a blurred 'lifestyle' scene."""
    style = style or rng.choice(["studio", "studio", "color", "surface", "lifestyle"])
    nrng = np.random.default_rng(rng.getrandbits(32))
    if style == "studio":
        v = rng.randint(215, 250)
        tint = [rng.randint(-8, 8) for _ in range(3)]
        top = tuple(min(255, v + 5 + t) for t in tint)
        arr = vertical_gradient(w, h, top, tuple(max(0, v - 30 + t) for t in tint))  # type: ignore[arg-type]
    elif style == "color":
        c = random_color(rng, (0.15, 0.6), (0.55, 0.95))
        arr = vertical_gradient(w, h, shade(c, 1.15), shade(c, 0.8))
    elif style == "surface":
        wall = random_color(rng, (0.0, 0.3), (0.6, 0.95))
        table = random_color(rng, (0.1, 0.5), (0.25, 0.8))
        arr = vertical_gradient(w, h, shade(wall, 1.1), wall)
        horizon = int(h * rng.uniform(0.45, 0.7))
        arr[horizon:] = vertical_gradient(w, h - horizon, shade(table, 1.1), shade(table, 0.7))
        grain = nrng.normal(0, rng.uniform(6, 20), (h - horizon, w, 1)).astype(np.float32)
        if rng.random() < 0.5:  # wood-like streaks
            grain = grain + np.sin(np.linspace(0, rng.uniform(20, 60), w))[None, :, None] * 8
        arr[horizon:] += grain
    else:
        arr = vertical_gradient(w, h, random_color(rng, (0.1, 0.6), (0.5, 1.0)), random_color(rng, (0.1, 0.6), (0.2, 0.7)))
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(rng.randint(6, 14)):
            r = rng.randint(w // 12, w // 3)
            x, y = rng.randint(-r, w), rng.randint(-r, h)
            d.ellipse((x, y, x + r, y + r), fill=random_color(rng, (0.1, 0.7), (0.3, 1.0)))
        arr = np.asarray(im.filter(ImageFilter.GaussianBlur(w / rng.uniform(14, 30))), np.float32)
    arr += nrng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def drop_shadow(bg: Image.Image, box: tuple[int, int, int, int], strength: float = 0.35) -> None:
    """Soft contact shadow under an object's bounding box, drawn in place."""
    x0, y0, x1, y1 = box
    w, h = bg.size
    m = Image.new("L", (w, h), 0)
    cy = y1 - (y1 - y0) * 0.03
    ImageDraw.Draw(m).ellipse((x0 + (x1 - x0) * 0.05, cy - (y1 - y0) * 0.06, x1 - (x1 - x0) * 0.05, cy + (y1 - y0) * 0.06),
                              fill=int(255 * strength))
    m = m.filter(ImageFilter.GaussianBlur(max(2, (x1 - x0) / 18)))
    bg.paste(Image.new("RGB", (w, h), (20, 20, 20)), (0, 0), m)

"""Photos: a product cut-out placed on a background at some angle, scale and crop."""

from __future__ import annotations

import random

from PIL import Image

from .canvas import background, drop_shadow


def frame_size(rng: random.Random, size: int, square_bias: float = 0.7) -> tuple[int, int]:
    """Mostly square, sometimes 4:3 or 3:4, long side = size."""
    r = rng.random()
    if r < square_bias:
        return size, size
    return (size, size * 3 // 4) if r < square_bias + (1 - square_bias) * 0.65 else (size * 3 // 4, size)


def photograph(rng: random.Random, cutout: Image.Image, size: int, *, bg_style: str | None = None,
               fill: tuple[float, float] = (0.55, 0.85), tilt: float = 12.0, square_bias: float = 0.7) -> Image.Image:
    """Places the cut-out on a background: view = yaw-ish squash, tilt, scale, offset (no flip: print would mirror)."""
    w, h = frame_size(rng, size, square_bias)
    bg = background(rng, w, h, bg_style)
    obj = cutout.crop(cutout.getbbox() or (0, 0, cutout.width, cutout.height))
    squash = rng.uniform(0.78, 1.0) if rng.random() < 0.5 else 1.0
    obj = obj.resize((max(4, int(obj.width * squash)), obj.height), Image.Resampling.BILINEAR)
    if tilt and rng.random() < 0.6:
        obj = obj.rotate(rng.uniform(-tilt, tilt), Image.Resampling.BICUBIC, expand=True)
    scale = rng.uniform(*fill) * min(w / obj.width, h / obj.height)
    obj = obj.resize((max(4, int(obj.width * scale)), max(4, int(obj.height * scale))), Image.Resampling.LANCZOS)
    x = int((w - obj.width) * rng.uniform(0.2, 0.8))
    y = int((h - obj.height) * rng.uniform(0.3, 0.8))
    drop_shadow(bg, (x, y, x + obj.width, y + obj.height), rng.uniform(0.2, 0.5))
    bg.paste(obj, (x, y), obj)
    return bg

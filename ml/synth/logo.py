"""Brand logos: a geometric emblem in brand colours plus a wordmark, and the ways fakes distort them."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from .canvas import RGB, random_color, text_image

EMBLEMS = ("ring", "polygon", "stripes", "chevron", "triangles", "badge", "dots", "wave")
LAYOUTS = ("side", "stacked", "text", "emblem")


@dataclass(frozen=True)
class LogoStyle:
    """Everything needed to redraw one brand's logo identically."""

    name: str
    primary: RGB
    secondary: RGB
    emblem: str
    layout: str
    upper: bool
    sides: int
    angle: float


def random_style(rng: random.Random, name: str) -> LogoStyle:
    return LogoStyle(name, random_color(rng, (0.5, 1.0), (0.25, 0.85)), random_color(rng, (0.3, 1.0), (0.4, 1.0)),
                     rng.choice(EMBLEMS), rng.choice(LAYOUTS), rng.random() < 0.5, rng.randint(3, 8),
                     rng.uniform(0, 360))


def _emblem(s: LogoStyle, size: int) -> Image.Image:
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    c, r = size / 2, size / 2 - 2
    p, q = (*s.primary, 255), (*s.secondary, 255)

    def poly(n: int, rad: float, rot: float) -> list[tuple[float, float]]:
        return [(c + rad * math.cos(math.radians(rot) + 2 * math.pi * k / n),
                 c + rad * math.sin(math.radians(rot) + 2 * math.pi * k / n)) for k in range(n)]

    if s.emblem == "ring":
        d.ellipse((2, 2, size - 2, size - 2), fill=p)
        d.ellipse((size * 0.18, size * 0.18, size * 0.82, size * 0.82), fill=(0, 0, 0, 0))
        d.polygon(poly(s.sides, r * 0.45, s.angle), fill=q)
    elif s.emblem == "polygon":
        d.polygon(poly(s.sides, r, s.angle), fill=p)
        d.polygon(poly(s.sides, r * 0.5, s.angle + 180 / s.sides), fill=q)
    elif s.emblem == "stripes":
        for k in range(3):
            x = size * (0.08 + 0.3 * k)
            d.polygon([(x, size * 0.9), (x + size * 0.18, size * 0.1), (x + size * 0.32, size * 0.1),
                       (x + size * 0.14, size * 0.9)], fill=p if k != 1 else q)
    elif s.emblem == "chevron":
        for k, col in enumerate((p, q)):
            y = size * (0.15 + 0.35 * k)
            d.polygon([(size * 0.05, y), (c, y + size * 0.3), (size * 0.95, y), (size * 0.95, y + size * 0.15),
                       (c, y + size * 0.45), (size * 0.05, y + size * 0.15)], fill=col)
    elif s.emblem == "triangles":
        d.polygon(poly(3, r, s.angle), fill=p)
        d.polygon(poly(3, r * 0.55, s.angle + 60), fill=q)
    elif s.emblem == "badge":
        d.rounded_rectangle((2, 2, size - 2, size - 2), radius=size // 5, fill=p)
        letter = text_image(s.name[0].upper(), int(size * 0.7), q)
        im.alpha_composite(letter, (int(c - letter.width / 2), int(c - letter.height / 2)))
    elif s.emblem == "dots":
        for k in range(s.sides):
            a = math.radians(s.angle) + 2 * math.pi * k / s.sides
            rr = size * 0.12
            x, y = c + r * 0.65 * math.cos(a), c + r * 0.65 * math.sin(a)
            d.ellipse((x - rr, y - rr, x + rr, y + rr), fill=p if k % 2 else q)
        d.ellipse((c - size * 0.14, c - size * 0.14, c + size * 0.14, c + size * 0.14), fill=p)
    else:  # wave
        pts = [(x, c + math.sin(x / size * 2 * math.pi + s.angle) * size * 0.22) for x in range(0, size, 4)]
        d.line(pts, fill=p, width=max(3, size // 7))
        d.line([(x, y + size * 0.22) for x, y in pts], fill=q, width=max(3, size // 9))
    return im


def render_logo(s: LogoStyle, height: int = 160) -> Image.Image:
    """Tightly cropped RGBA logo; wordmark uses Pillow's bundled font."""
    word = s.name.upper() if s.upper else s.name
    if s.layout == "emblem":
        return _emblem(s, height)
    mark = text_image(word, int(height * (0.55 if s.layout != "stacked" else 0.32)), (*s.primary, 255))
    if s.layout == "text":
        under = Image.new("RGBA", (mark.width, mark.height + height // 8), (0, 0, 0, 0))
        under.alpha_composite(mark)
        ImageDraw.Draw(under).rectangle((0, mark.height + height // 32, mark.width * 0.4, under.height - 1),
                                        fill=(*s.secondary, 255))
        return under
    if s.layout == "side":
        em = _emblem(s, height)
        out = Image.new("RGBA", (em.width + height // 6 + mark.width, height), (0, 0, 0, 0))
        out.alpha_composite(em)
        out.alpha_composite(mark, (em.width + height // 6, (height - mark.height) // 2))
        return out
    em = _emblem(s, int(height * 0.62))
    out = Image.new("RGBA", (max(em.width, mark.width), em.height + height // 12 + mark.height), (0, 0, 0, 0))
    out.alpha_composite(em, ((out.width - em.width) // 2, 0))
    out.alpha_composite(mark, ((out.width - mark.width) // 2, em.height + height // 12))
    return out


def recolor(logo: Image.Image, color: RGB) -> Image.Image:
    """Single-colour print of a logo (e.g. white on a dark product)."""
    out = Image.new("RGBA", logo.size, (*color, 255))
    out.putalpha(logo.getchannel("A"))
    return out


def on_plate(logo: Image.Image, plate: RGB, pad: float = 0.25) -> Image.Image:
    """Logo on a rectangular label, like a woven tag or printed badge."""
    p = int(logo.height * pad) + 2
    out = Image.new("RGBA", (logo.width + 2 * p, logo.height + 2 * p), (0, 0, 0, 0))
    ImageDraw.Draw(out).rounded_rectangle((0, 0, out.width - 1, out.height - 1), radius=p // 2, fill=(*plate, 255))
    out.alpha_composite(logo, (p, p))
    return out


def distort(rng: random.Random, logo: Image.Image) -> Image.Image:
    """How counterfeit prints go wrong: stretch, shear, erosion, low resolution, wrong colours."""
    ops = rng.sample(["stretch", "shear", "erode", "lowres", "recolor", "crop"], rng.randint(1, 3))
    im = logo
    for op in ops:
        w, h = im.size
        if op == "stretch":
            fx, fy = (rng.uniform(1.3, 1.8), 1.0) if rng.random() < 0.5 else (1.0, rng.uniform(1.3, 1.8))
            im = im.resize((max(1, int(w * fx)), max(1, int(h * fy))), Image.Resampling.BILINEAR)
        elif op == "shear":
            k = rng.uniform(0.2, 0.45) * rng.choice([-1, 1])
            nw = int(w + abs(k) * h)
            im = im.transform((nw, h), Image.Transform.AFFINE, (1, k, -abs(k) * h if k > 0 else 0, 0, 1, 0),
                              Image.Resampling.BILINEAR)
        elif op == "erode":
            a = im.getchannel("A").filter(ImageFilter.MinFilter(rng.choice([3, 5])))
            im = im.copy()
            im.putalpha(a)
        elif op == "lowres":
            f = rng.uniform(0.12, 0.3)
            im = im.resize((max(2, int(w * f)), max(2, int(h * f))), Image.Resampling.BILINEAR).resize((w, h), Image.Resampling.NEAREST)
        elif op == "recolor":
            rgb = ImageOps.invert(im.convert("RGB")) if rng.random() < 0.4 else None
            if rgb is None:
                arr = np.asarray(im.convert("RGB"))[..., [2, 0, 1] if rng.random() < 0.5 else [1, 2, 0]]
                rgb = Image.fromarray(np.ascontiguousarray(arr))
            rgb.putalpha(im.getchannel("A"))
            im = rgb
        else:
            im = im.crop((0, 0, int(w * rng.uniform(0.6, 0.85)), h))
    return im


def catalog_logo_image(logo: Image.Image, size: int, bg: RGB) -> Image.Image:
    """Logo artwork on a plain background, as a brand would upload it."""
    out = Image.new("RGB", (size, size), bg)
    lg = logo.copy()
    lg.thumbnail((int(size * 0.8), int(size * 0.6)), Image.Resampling.LANCZOS)
    out.paste(lg, ((size - lg.width) // 2, (size - lg.height) // 2), lg)
    return out

"""Product designs drawn as flat shapes with textures and shading, with a logo printed on them."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .canvas import PALETTE, RGB, luminance, print_color, shade, text_image
from .logo import on_plate, recolor

C = 512  # canonical drawing size; scenes rescale it
KINDS = ("sneaker", "bag", "bottle", "headphones", "watch", "tshirt", "cap", "phone_case")
PATTERNS = ("plain", "plain", "stripes", "dots", "fabric", "check", "camo")
LOGO_MODES = ("color", "mono", "plate")
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Design:
    """A product's look; the same design re-rendered gives the 'same product' in another photo."""

    kind: str
    color_name: str
    body: RGB
    accent: RGB
    pattern: str
    logo_mode: str  # color | mono | plate | none | blurred
    logo_scale: float
    logo_dx: float
    logo_dy: float
    variant: int
    word: str = ""  # generic print on unbranded goods (or a brand printed as text)
    font: str = ""  # font file of the print ("" = Pillow's bundled font)


def random_design(rng: random.Random, kind: str | None = None, logo_mode: str | None = None) -> Design:
    color_name = rng.choice(list(PALETTE))
    accent = PALETTE[rng.choice([c for c in PALETTE if c != color_name])]
    return Design(kind or rng.choice(KINDS), color_name, PALETTE[color_name], accent, rng.choice(PATTERNS),
                  logo_mode or rng.choice(LOGO_MODES), rng.uniform(0.45, 1.0), rng.uniform(-1, 1),
                  rng.uniform(-1, 1), rng.randint(0, 2))


def _texture(d: Design, nrng: np.random.Generator) -> Image.Image:
    y = np.linspace(0, 1, C, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, C, dtype=np.float32)[None, :]
    light = (1.12 - 0.3 * y) * (0.85 + 0.2 * np.cos((x - 0.4) * 2.6))  # top-left key light, rounded sides
    base = np.asarray(d.body, np.float32)[None, None, :] * np.ones((C, C, 1), np.float32)
    acc = np.asarray(d.accent, np.float32)
    yy, xx = np.mgrid[0:C, 0:C]
    if d.pattern == "stripes":
        period = 18 + 14 * d.variant
        m = ((xx + yy * (d.variant - 1)) // period) % 2 == 0
        base[m] = base[m] * 0.35 + acc * 0.65
    elif d.pattern == "dots":
        m = ((xx % 28 - 14) ** 2 + (yy % 28 - 14) ** 2) < 30
        base[m] = acc
    elif d.pattern == "check":
        m = ((xx // 32) + (yy // 32)) % 2 == 0
        base[m] *= 0.8
    elif d.pattern == "camo":
        blobs = nrng.random((C // 32, C // 32)).astype(np.float32)
        big = np.asarray(Image.fromarray((blobs * 255).astype(np.uint8)).resize((C, C), Image.Resampling.BICUBIC), np.float32)
        base[big > 150] = base[big > 150] * 0.5 + acc * 0.5
    noise = 5.0 if d.pattern != "fabric" else 16.0
    base = base * light[..., None] + nrng.normal(0, noise, (C, C, 1)).astype(np.float32)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def _shape(d: Design, mask: ImageDraw.ImageDraw) -> Box:
    """Draws the body silhouette into the mask; returns the box where a logo may go."""
    v = d.variant
    if d.kind == "sneaker":
        top = 150 - 60 * (v == 2)
        mask.polygon([(50, 330), (58, 250), (150, 222), (250, 175), (330, top), (372, top + 10), (400, 240),
                      (470, 282), (482, 334)], fill=255)
        return (170, 250, 390, 322)
    if d.kind == "bag":
        mask.polygon([(110 - 20 * v, 170), (400 + 20 * v, 170), (440 + 10 * v, 440), (70 - 10 * v, 440)], fill=255)
        return (160, 230, 350, 380)
    if d.kind == "bottle":
        mask.rounded_rectangle((180 - 15 * v, 140, 330 + 15 * v, 470), radius=40, fill=255)
        mask.rectangle((225, 90, 285, 150), fill=255)
        return (190 - 15 * v, 240, 320 + 15 * v, 370)
    if d.kind == "headphones":
        mask.arc((130, 60, 380, 330), 180, 360, fill=255, width=28)
        mask.rectangle((128, 190, 156, 250), fill=255)
        mask.rectangle((354, 190, 382, 250), fill=255)
        mask.ellipse((92, 220, 200, 390), fill=255)
        mask.ellipse((312, 220, 420, 390), fill=255)
        return (322, 255, 410, 355)
    if d.kind == "watch":
        if v == 1:
            mask.rounded_rectangle((170, 150, 340, 350), radius=36, fill=255)
        else:
            mask.ellipse((160, 150, 350, 340), fill=255)
        return (205, 185, 305, 250)
    if d.kind == "tshirt":
        mask.polygon([(150, 80), (210, 70), (256, 100), (302, 70), (362, 80), (450, 150), (410, 215), (370, 188),
                      (370, 455), (142, 455), (142, 188), (102, 215), (62, 150)], fill=255)
        return (185, 140, 330, 300) if v != 2 else (290, 130, 350, 180)
    if d.kind == "cap":
        mask.pieslice((120, 110, 392, 390), 180, 360, fill=255)
        mask.ellipse((100 + 60 * (v == 1), 230, 430, 300), fill=255)
        return (196, 150, 316, 235)
    mask.rounded_rectangle((160, 40, 350, 470), radius=36, fill=255)  # phone_case
    return (190, 240, 320, 350)


def _details(d: Design, draw: ImageDraw.ImageDraw) -> None:
    line = shade(d.body, 0.55)
    if d.kind == "sneaker":
        draw.rounded_rectangle((40, 326, 490, 380), radius=20, fill=shade(d.accent, 1.4) if d.variant else (240, 240, 238))
        draw.line([(40, 360), (490, 360)], fill=shade(d.accent, 0.8), width=3)
        for k in range(5):
            draw.line([(262 + 16 * k, 190 - 8 * k), (300 + 16 * k, 214 - 8 * k)], fill=(245, 245, 245), width=5)
        draw.polygon([(400, 240), (470, 282), (482, 326), (440, 326)], fill=shade(d.body, 0.8))
    elif d.kind == "bag":
        draw.arc((170, 50, 340, 290), 180, 360, fill=d.accent, width=18)
        draw.line([(110 - 20 * d.variant, 200), (400 + 20 * d.variant, 200)], fill=line, width=4)
    elif d.kind == "bottle":
        draw.rounded_rectangle((212, 48, 298, 100), radius=10, fill=d.accent)
        draw.rectangle((180 - 15 * d.variant, 230, 330 + 15 * d.variant, 380), outline=line, width=3)
        draw.line([(200, 160), (200, 450)], fill=shade(d.body, 1.5), width=8)
    elif d.kind == "headphones":
        draw.ellipse((112, 245, 180, 365), fill=shade(d.body, 0.45))
        draw.arc((130, 60, 380, 330), 200, 340, fill=shade(d.accent, 1.0), width=8)
    elif d.kind == "watch":
        draw.rectangle((212, 20, 298, 150), fill=d.accent)
        draw.rectangle((212, 340, 298, 492), fill=d.accent)
        face = (30, 30, 34) if luminance(d.body) > 120 else (235, 235, 230)
        draw.ellipse((182, 172, 328, 318), fill=face)
        hand = (230, 60, 40)
        draw.line([(255, 245), (255, 190)], fill=hand if face[0] < 100 else (20, 20, 20), width=6)
        draw.line([(255, 245), (300, 262)], fill=hand, width=4)
        draw.rectangle((350, 225, 362, 265), fill=line)
    elif d.kind == "tshirt":
        draw.chord((214, 60, 298, 120), 0, 180, fill=shade(d.body, 0.6))
        draw.line([(142, 188), (102, 215)], fill=line, width=3)
        draw.line([(370, 188), (410, 215)], fill=line, width=3)
    elif d.kind == "cap":
        draw.line([(256, 112), (256, 250)], fill=line, width=3)
        draw.ellipse((246, 104, 266, 122), fill=d.accent)
        draw.arc((100 + 60 * (d.variant == 1), 230, 430, 300), 0, 180, fill=line, width=4)
    else:
        draw.rounded_rectangle((176, 58, 262, 150), radius=18, fill=shade(d.body, 0.5))
        for cx, cy in ((200, 82), (238, 82), (200, 124)):
            draw.ellipse((cx - 13, cy - 13, cx + 13, cy + 13), fill=(20, 20, 24), outline=(120, 120, 130), width=3)


def _place(canvas: Image.Image, art: Image.Image, box: Box, d: Design) -> Box:
    bw, bh = box[2] - box[0], box[3] - box[1]
    art = art.copy()
    art.thumbnail((max(4, int(bw * d.logo_scale)), max(4, int(bh * d.logo_scale))), Image.Resampling.LANCZOS)
    x = box[0] + int((bw - art.width) * (0.5 + 0.5 * d.logo_dx))
    y = box[1] + int((bh - art.height) * (0.5 + 0.5 * d.logo_dy))
    canvas.alpha_composite(art, (x, y))
    return (x, y, x + art.width, y + art.height)


def print_ground(d: Design) -> RGB:
    """The colour a logo or word is printed on: the body, or a watch's dial."""
    return d.body if d.kind != "watch" else ((30, 30, 34) if luminance(d.body) > 120 else (235, 235, 230))


def word_color(d: Design) -> RGB:
    """The design's accent where it can be read on the ground and on the pattern's accent parts, else an ink."""
    pattern = (d.accent,) if d.kind != "watch" and d.pattern in ("stripes", "dots", "camo") else ()
    return print_color(shade(d.accent, 0.9), print_ground(d), *pattern)


def logo_art(d: Design, logo: Image.Image) -> Image.Image:
    """The logo as it would be printed on this product's colour."""
    ground = print_ground(d)
    if d.logo_mode == "mono":
        return recolor(logo, (245, 245, 245) if luminance(ground) < 140 else (20, 20, 22))
    if d.logo_mode == "plate":
        return on_plate(logo, (250, 250, 250) if luminance(logo.convert("RGB").resize((1, 1)).getpixel((0, 0))) < 170 else (25, 25, 28))
    return logo


def render_product(d: Design, logo: Image.Image | None, seed: int, *, worn: bool = False,
                   mirror: bool = False) -> Image.Image:
    """RGBA product cut-out, logo applied as the design says; mirror flips the object but not its print."""
    nrng = np.random.default_rng(seed)
    mask = Image.new("L", (C, C), 0)
    box = _shape(d, ImageDraw.Draw(mask))
    canvas = Image.new("RGBA", (C, C), (0, 0, 0, 0))
    canvas.paste(_texture(d, nrng), (0, 0), mask)
    _details(d, ImageDraw.Draw(canvas))
    if mirror:
        canvas = canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        box = (C - box[2], box[1], C - box[0], box[3])
    if logo is not None and d.logo_mode != "none":
        art = logo_art(d, logo) if d.logo_mode != "blurred" else recolor(logo, shade(d.body, 0.6))
        placed = _place(canvas, art, box, d)
        if d.logo_mode == "blurred":
            region = canvas.crop(placed).filter(ImageFilter.GaussianBlur(max(3, (placed[2] - placed[0]) // 6)))
            canvas.paste(region, placed[:2])
    elif d.word:
        _place(canvas, text_image(d.word, 60, (*word_color(d), 255), font_path=d.font), box, d)
    if worn:
        canvas = _wear(canvas, nrng)
    return canvas


def _wear(canvas: Image.Image, nrng: np.random.Generator) -> Image.Image:
    """Used look: faded colour, grime, scuffs and creases."""
    rgba = np.asarray(canvas, np.float32).copy()
    rgb = rgba[..., :3]
    grey = rgb.mean(axis=2, keepdims=True)
    rgb[:] = rgb * 0.65 + grey * 0.35
    dirt = np.asarray(Image.fromarray((nrng.random((16, 16)) * 255).astype(np.uint8)).resize((C, C), Image.Resampling.BICUBIC),
                      np.float32)[..., None] / 255.0
    rgb[:] = rgb * (1 - 0.25 * dirt) + nrng.normal(0, 9, rgb.shape[:2] + (1,))
    out = Image.fromarray(np.clip(rgba, 0, 255).astype(np.uint8), "RGBA")
    draw = ImageDraw.Draw(out)
    alpha = np.asarray(canvas.getchannel("A"))
    ys, xs = np.nonzero(alpha)
    for _ in range(int(nrng.integers(6, 16))):
        i = int(nrng.integers(0, len(xs)))
        x, y = int(xs[i]), int(ys[i])
        dx, dy = (int(v) for v in nrng.integers(-40, 40, 2))
        if alpha[min(C - 1, max(0, y + dy)), min(C - 1, max(0, x + dx))]:
            draw.line([(x, y), (x + dx, y + dy)], fill=(200, 196, 190, 200) if nrng.random() < 0.5 else (60, 55, 50, 200),
                      width=int(nrng.integers(1, 4)))
    return out

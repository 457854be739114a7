"""What counterfeiters do to stolen catalog photos: geometric, photometric, overlays, collages, screenshots."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from .canvas import random_color, shade, text_image

WATERMARKS = ("TOP QUALITY", "BEST PRICE", "HOT SALE", "REAL PHOTO", "FREE SHIP", "WHOLESALE", "NEW 2025")


def geometric(rng: random.Random, im: Image.Image) -> Image.Image:
    """Crop, scale, rotate <= 15 deg, flip or perspective — the copy-detection classics."""
    w, h = im.size
    ops = rng.sample(["crop", "rotate", "flip", "perspective", "scale"], rng.randint(1, 3))
    for op in ops:
        w, h = im.size
        if op == "crop":
            f = rng.uniform(0.6, 0.9)
            cw, ch = int(w * f), int(h * rng.uniform(f, 0.95))
            x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
            im = im.crop((x, y, x + cw, y + ch))
        elif op == "rotate":
            fill = im.getpixel((2, 2))
            im = im.rotate(rng.uniform(-15, 15), Image.Resampling.BICUBIC, expand=rng.random() < 0.5, fillcolor=fill)
        elif op == "flip":
            im = ImageOps.mirror(im)
        elif op == "perspective":
            d = [rng.uniform(-0.12, 0.12) * s for s in (w, h, w, h, w, h, w, h)]
            quad = (d[0], d[1], d[2], h + d[3], w + d[4], h + d[5], w + d[6], d[7])
            im = im.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
        else:
            f = rng.uniform(0.5, 1.3)
            im = im.resize((max(16, int(w * f)), max(16, int(h * f))), Image.Resampling.BILINEAR)
    return im


def photometric(rng: random.Random, im: Image.Image) -> Image.Image:
    """Heavy re-compression, blur and colour jitter."""
    if rng.random() < 0.6:
        im = ImageEnhance.Color(im).enhance(rng.uniform(0.4, 1.6))
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.75, 1.25))
        im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.7, 1.3))
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.5)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=rng.randint(25, 60))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def overlay(rng: random.Random, im: Image.Image, seller: str) -> Image.Image:
    """Border, tiled watermark, seller banner or sticker."""
    im = im.copy()
    w, h = im.size
    ops = rng.sample(["border", "watermark", "banner", "sticker"], rng.randint(1, 3))
    for op in ops:
        if op == "border":
            b = rng.randint(max(2, w // 64), max(3, w // 16))
            im = ImageOps.expand(im.resize((w - 2 * b, h - 2 * b)), border=b, fill=random_color(rng))
        elif op == "watermark":
            layer = Image.new("RGBA", (w * 2, h * 2), (0, 0, 0, 0))
            txt = text_image(rng.choice([seller, *WATERMARKS]), max(12, w // 18), (255, 255, 255, rng.randint(70, 140)))
            for yy in range(0, h * 2, txt.height * 3):
                for xx in range(0, w * 2, txt.width + w // 8):
                    layer.alpha_composite(txt, (xx + (yy // 7) % 40, yy))
            layer = layer.rotate(rng.uniform(-35, 35), Image.Resampling.BILINEAR).crop((w // 2, h // 2, w // 2 + w, h // 2 + h))
            im = Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")
        elif op == "banner":
            d = ImageDraw.Draw(im)
            bh = rng.randint(h // 12, h // 7)
            y0 = 0 if rng.random() < 0.5 else h - bh
            col = random_color(rng, (0.7, 1.0), (0.6, 1.0))
            d.rectangle((0, y0, w, y0 + bh), fill=col)
            t = text_image(rng.choice([seller, *WATERMARKS]), int(bh * 0.6), (255, 255, 255, 255))
            im.paste(t, (rng.randint(4, max(5, w - t.width - 4)), y0 + (bh - t.height) // 2), t)
        else:
            r = rng.randint(w // 10, w // 6)
            cx, cy = rng.randint(r, w - r), rng.randint(r, h - r)
            d = ImageDraw.Draw(im)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=random_color(rng, (0.8, 1.0), (0.7, 1.0)), outline=(255, 255, 255), width=3)
            t = text_image(rng.choice(["SALE", "-70%", "HOT", "NEW", "1:1", "TOP"]), int(r * 0.6), (255, 255, 255, 255))
            im.paste(t, (cx - t.width // 2, cy - t.height // 2), t)
    return im


def collage(rng: random.Random, photos: list[Image.Image], size: int) -> Image.Image:
    """2-4 catalog photos tiled in a grid with gutters."""
    n = len(photos)
    cols, rows = (2, 1) if n == 2 else (2, 2) if n == 4 else rng.choice([(3, 1), (2, 2)])
    w, h = (size, size // 2) if rows == 1 and cols == 2 else (size, size // 3) if rows == 1 else (size, size)
    gap = rng.randint(0, 8)
    out = Image.new("RGB", (w, h), (255, 255, 255) if rng.random() < 0.7 else random_color(rng))
    cw, ch = (w - gap * (cols + 1)) // cols, (h - gap * (rows + 1)) // rows
    for i, p in enumerate(photos[: cols * rows]):
        tile = ImageOps.fit(p, (cw, ch), Image.Resampling.LANCZOS)
        out.paste(tile, (gap + (i % cols) * (cw + gap), gap + (i // cols) * (ch + gap)))
    return out


def screenshot(rng: random.Random, photo: Image.Image, size: int, title: str, price: str) -> Image.Image:
    """The photo inside a drawn shopping-app or browser window."""
    theme = random_color(rng, (0.6, 1.0), (0.5, 0.9))
    if rng.random() < 0.5:  # phone app, portrait
        w, h = size * 9 // 16, size
        out = Image.new("RGB", (w, h), (250, 250, 250))
        d = ImageDraw.Draw(out)
        d.rectangle((0, 0, w, h // 22), fill=(20, 20, 20))
        d.rectangle((0, h // 22, w, h // 8), fill=theme)
        m = max(1, h // 90)
        d.rounded_rectangle((w // 20, h // 22 + 2 * m, w - w // 20, h // 8 - 2 * m), radius=2 * m, fill=(255, 255, 255))
        img = ImageOps.fit(photo, (w, w), Image.Resampling.LANCZOS)
        out.paste(img, (0, h // 8))
        y = h // 8 + w + 8
        t = text_image(price, max(10, w // 11), (220, 40, 40, 255))
        out.paste(t, (10, y), t)
        t2 = text_image(title[:28], max(8, w // 22), (40, 40, 40, 255))
        out.paste(t2, (10, y + t.height + 8), t2)
        d.rectangle((0, h - h // 12, w, h), fill=(245, 245, 245))
        d.rounded_rectangle((w // 2, h - h // 12 + m, w - 2 * m, h - m), radius=3 * m, fill=shade(theme, 0.9))
        return out
    w, h = size, size * 3 // 4
    out = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(out)
    d.rectangle((0, 0, w, h // 14), fill=(222, 224, 228))
    m = max(1, h // 60)
    d.rounded_rectangle((w // 6, m, w - w // 8, h // 14 - m), radius=m, fill=(255, 255, 255))
    d.rectangle((0, h // 14, w, h // 7), fill=theme)
    side = int(h * 0.7)
    out.paste(ImageOps.fit(photo, (side, side), Image.Resampling.LANCZOS), (w // 30, h // 7 + h // 40))
    x = w // 30 + side + w // 30
    t = text_image(title[:22], max(8, w // 34), (30, 30, 30, 255))
    out.paste(t, (x, h // 5), t)
    t2 = text_image(price, max(10, w // 20), (200, 30, 30, 255))
    out.paste(t2, (x, h // 5 + t.height + 12), t2)
    for k in range(4):
        d.line([(x, h // 2 + 4 * m * k), (w - 3 * m - rng.randint(0, w // 6), h // 2 + 4 * m * k)], fill=(200, 200, 200), width=m)
    d.rounded_rectangle((x, h - h // 5, w - 5 * m, h - h // 8), radius=2 * m, fill=shade(theme, 0.9))
    return out

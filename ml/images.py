"""Safe image decoding: size/pixel limits, bomb detection, EXIF orientation, reduced-size JPEG decode."""
from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps

from ml.config import ImageLimits
from ml.hardware import image_threads, thread_pool

DEFAULT_MAX_BYTES = ImageLimits.max_image_bytes
DEFAULT_MAX_PIXELS = ImageLimits.max_image_pixels

_T = TypeVar("_T")
_R = TypeVar("_R")


def image_map(fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``[fn(x) for x in items]`` across a small per-process thread pool (``ml.hardware.thread_pool``), results
    in input order. Exceptions propagate from the first failing item, as in the loop.

    Image decode and resize release the GIL, so a scan batch's images use every core: as many threads as
    ``ml.hardware.image_threads`` gives.
    """

    items = list(items)
    threads = image_threads()
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    return list(thread_pool("image", threads).map(fn, items))


class ImageError(ValueError):
    """An input that is not a usable image; the message is shown to users as-is."""


def load_image(
    path_or_bytes: str | os.PathLike | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: int | None = None,
) -> Image.Image:
    """Decode one image to RGB, refusing anything that is not a small-enough real image.

    The pixel count is checked from the header before decoding, so a decompression bomb costs
    nothing. With ``draft_size`` a JPEG is decoded at a reduced scale (DCT scaling: far less work).
    """
    if isinstance(path_or_bytes, bytes | bytearray):
        data = bytes(path_or_bytes)
    else:
        try:
            size = os.path.getsize(path_or_bytes)
        except OSError as exc:
            raise ImageError(f"cannot read file: {exc.strerror or exc}") from exc
        if size > max_bytes:
            raise ImageError(f"file too big ({size} bytes > {max_bytes})")
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    if len(data) > max_bytes:
        raise ImageError(f"file too big ({len(data)} bytes > {max_bytes})")
    if not data:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            w, h = im.size
            if w <= 0 or h <= 0 or w * h > max_pixels:
                raise ImageError(f"too many pixels ({w}x{h} > {max_pixels}); possible decompression bomb")
            if draft_size and im.format == "JPEG":
                im.draft("RGB", (draft_size, draft_size))
            im.load()
            ImageOps.exif_transpose(im, in_place=True)  # the default returns a full copy even when upright
            if im.mode != "RGB":
                im = _to_rgb(im)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"decompression bomb refused: {exc}") from exc
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError, EOFError) as exc:
        raise ImageError(f"not a valid image ({type(exc).__name__}: {exc})") from exc
    return im


def square_pixels(im: Image.Image, side: int) -> np.ndarray:
    """(side, side, 3) uint8: the image squash-resized (bilinear), the one copy the embedder and PDQ both read.

    Squashed, not cropped, so a logo near an edge is never cut off; references and listings go through the
    same path, so the distortion cancels out (and PDQ resamples to a square 64x64 anyway).
    """
    import torch
    from torchvision.transforms.v2.functional import InterpolationMode, resize

    if im.mode != "RGB":  # load_image already gives RGB; convert() would copy it for nothing
        im = im.convert("RGB")
    # torchvision's uint8 antialiased bilinear kernel: within 2 levels (mean 0.01) of PIL's BILINEAR, and faster.
    hwc = torch.from_numpy(np.array(im, np.uint8))
    out = resize(hwc.permute(2, 0, 1), [side, side], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())


def _to_rgb(im: Image.Image) -> Image.Image:
    """Flatten transparency onto white (logos are usually drawn on white) and convert to RGB."""
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel("A"))
        return bg
    return im.convert("RGB")

"""Text inside listing images (Tesseract through pytesseract), for the brand-mention detector.

Optional by design: without the ``tesseract`` binary (Debian ``tesseract-ocr``) or ``pytesseract``
scans run without it and ``ocr_available()`` says so for the health check. OCR is the slowest
signal per image, so callers run it only when it can change the outcome (no brand named in the text).
"""
from __future__ import annotations

import functools
import logging
import shutil

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 640  # downscale: brand words big enough to matter survive, and Tesseract time drops ~4×
TIMEOUT_S = 3.0
# Automatic page segmentation: on product photos it finds short labels more reliably than the
# sparse-text mode (--psm 11), which missed a plain white-on-navy wordmark in tests.
TESSERACT_CONFIG = "--psm 3"


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when both pytesseract and a working ``tesseract`` binary are present (checked once)."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # noqa: BLE001 - any failure means "no OCR", reported by the health check
        return False
    return True


def ocr_status() -> str:
    """One line for the health check."""
    return "available" if ocr_available() else "missing (scans run without OCR)"


def _prepare(img: Image.Image) -> Image.Image:
    g = ImageOps.grayscale(img)
    scale = MAX_SIDE / max(g.size)
    if scale < 1.0:
        g = g.resize((max(1, round(g.width * scale)), max(1, round(g.height * scale))), Image.BILINEAR)
    return ImageOps.autocontrast(g)


def image_text(img: Image.Image) -> str:
    """Words Tesseract reads in the image ('' when OCR is unavailable, times out or fails)."""
    if not ocr_available():
        return ""
    import pytesseract

    try:
        return pytesseract.image_to_string(_prepare(img), config=TESSERACT_CONFIG, timeout=TIMEOUT_S)
    except (RuntimeError, pytesseract.TesseractError, OSError) as exc:  # timeout raises RuntimeError
        log.warning("OCR failed: %s", exc)
        return ""

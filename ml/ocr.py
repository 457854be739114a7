"""Text inside listing images (Tesseract's C API through tesserocr), for the brand-mention detector.

Optional by design: the tesserocr wheel carries libtesseract, but the language data (``eng.traineddata``,
Debian ``tesseract-ocr-eng``, pulled in by ``tesseract-ocr``) comes from the system; without it scans run
without OCR and ``ocr_available()`` says so for the health check. OCR is the slowest signal per image, so
callers run it only when it can change the outcome (no brand named in the text).

One engine stays loaded per thread and process: starting the ``tesseract`` program per image (pytesseract)
spent most of its time loading the LSTM model every time. The loaded engine releases the GIL while it reads,
so the detector overlaps it with other work.
"""
from __future__ import annotations

import functools
import glob
import logging
import os
import threading

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_SIDE = 640  # downscale: brand words big enough to matter survive, and Tesseract's time drops with the area
LANG = "eng"
# What the tesseract program assumes for an image without a resolution (it warns "Invalid resolution 0 dpi.
# Using 70 instead"); the engine's own default reads small wordmarks worse.
SOURCE_DPI = 70
_TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata",
                   "/opt/homebrew/share/tessdata")
_engines = threading.local()


@functools.lru_cache(maxsize=4)
def tessdata_dir(prefix: str = "") -> str | None:
    """``prefix`` (the deployment's ``TESSDATA_PREFIX``), else the first usual system folder holding the language
    data (None: no OCR)."""
    candidates = [prefix]
    candidates += sorted((d for pattern in _TESSDATA_GLOBS for d in glob.glob(pattern)), reverse=True)
    return next((d for d in candidates if d and os.path.isfile(os.path.join(d, f"{LANG}.traineddata"))), None)


@functools.lru_cache(maxsize=4)
def ocr_available(tessdata_prefix: str = "") -> bool:
    """True when tesserocr imports and the language data is found (checked once per prefix)."""
    path = tessdata_dir(tessdata_prefix)
    if path is None:
        return False
    try:
        import tesserocr

        return LANG in tesserocr.get_languages(path)[1]
    except Exception:  # noqa: BLE001 - any failure means "no OCR", reported by the health check
        return False


def ocr_status(tessdata_prefix: str = "") -> str:
    """One line for the health check."""
    return "available" if ocr_available(tessdata_prefix) else "missing (scans run without OCR)"


def _engine(path: str | None):
    """This thread's loaded engine for the language data at ``path``, made again in a forked child (prefork
    workers must not share one)."""
    api = getattr(_engines, "api", None)
    if api is None or _engines.pid != os.getpid() or _engines.path != path:
        import tesserocr

        api = tesserocr.PyTessBaseAPI(path=path, lang=LANG, psm=tesserocr.PSM.AUTO)
        _engines.api, _engines.pid, _engines.path = api, os.getpid(), path
    return api


def _prepare(img: Image.Image) -> Image.Image:
    g = ImageOps.grayscale(img)
    scale = MAX_SIDE / max(g.size)
    if scale < 1.0:
        g = g.resize((max(1, round(g.width * scale)), max(1, round(g.height * scale))), Image.BILINEAR)
    return ImageOps.autocontrast(g)


def image_text(img: Image.Image, tessdata_prefix: str = "") -> str:
    """Words Tesseract reads in the image ('' when OCR is unavailable or fails).

    Automatic page segmentation: on product photos it finds short labels more reliably than the sparse-text
    mode, which missed a plain white-on-navy wordmark in tests. Inputs are capped at ``MAX_SIDE``, which
    bounds the time a read can take (tens of ms).
    """
    if not ocr_available(tessdata_prefix):
        return ""
    try:
        api = _engine(tessdata_dir(tessdata_prefix))
        api.SetImage(_prepare(img))
        api.SetSourceResolution(SOURCE_DPI)
        return api.GetUTF8Text()
    except (RuntimeError, OSError) as exc:
        log.warning("OCR failed: %s", exc)
        return ""

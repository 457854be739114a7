"""Text printed on product photos (scene text), for the brand-mention detector.

A text detector finds word boxes on a reduced-size copy of the photo and a recogniser reads only those boxes:
PP-OCR's detection and recognition networks, as ONNX files carried inside the ``rapidocr`` wheel (nothing is
downloaded), run by the project's onnxruntime. Whole-page OCR (Tesseract) returned nothing for most brand
names printed on products (curved, small, on textures); the scene-text pair reads them.

OCR is the slowest signal per image, so callers run it only when it can change the outcome (no brand named in
the text), on the follow-up queue. One engine is loaded per process (made again in a forked child); its
onnxruntime sessions are safe to call from several threads.
"""
from __future__ import annotations

import functools
import logging
import os
import threading

from PIL import Image

from ml.config import OcrConfig

log = logging.getLogger(__name__)

MAX_SIDE = OcrConfig().max_side  # photos are decoded for OCR at this size


_lock = threading.Lock()
_engine_of: dict[tuple[int, OcrConfig], object] = {}  # (pid, config) -> engine


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when the OCR package and its bundled model files are present (checked once)."""
    try:
        import rapidocr

        models = os.path.join(os.path.dirname(rapidocr.__file__), "models")
        return any(f.endswith(".onnx") and "det" in f for f in os.listdir(models)) and any(
            f.endswith(".onnx") and "rec" in f for f in os.listdir(models))
    except (ImportError, OSError):
        return False


def ocr_status() -> str:
    """One line for the health check."""
    return "available" if ocr_available() else "missing (scans run without OCR)"


def _engine(config: OcrConfig):
    with _lock:
        engine = _engine_of.get((os.getpid(), config))
        if engine is None:
            import torch
            from rapidocr import RapidOCR

            engine = RapidOCR(params={
                "Global.log_level": "error", "Global.use_cls": False, "Global.text_score": config.min_confidence,
                "Det.limit_side_len": config.max_side, "Det.limit_type": "max",
                "EngineConfig.onnxruntime.intra_op_num_threads": config.threads or torch.get_num_threads(),
                "EngineConfig.onnxruntime.inter_op_num_threads": 1})
            if any(pid != os.getpid() for pid, _ in _engine_of):  # a forked child: the parent's are not ours
                _engine_of.clear()
            _engine_of[(os.getpid(), config)] = engine
        return engine


def at_detection_size(img: Image.Image, side: int) -> Image.Image:
    """A photo smaller than the detector's side, enlarged to it (larger ones the detector reduces itself).

    The detector finds words of a certain size in pixels: on a 384 px photo a brand printed on a product is often
    below it, and goes unread where the same photo enlarged is read.
    """
    scale = side / max(img.size)
    if scale <= 1:
        return img
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)


def image_text(img: Image.Image, config: OcrConfig | None = None) -> str:
    """Words read in the image, one detected line per text line ('' when OCR is unavailable or fails)."""
    if not ocr_available():
        return ""
    config = config or OcrConfig()
    try:
        result = _engine(config)(at_detection_size(img.convert("RGB"), config.max_side), use_cls=False)
        return "\n".join(t for t in (result.txts or ()) if t.strip())
    except Exception as exc:  # noqa: BLE001 - a photo OCR cannot read is a photo without text
        log.warning("OCR failed: %s", exc)
        return ""

"""Text printed on product photos (scene text), for the brand-mention detector.

A text detector finds word boxes on a reduced-size copy of the photo and a recogniser reads only those boxes:
PP-OCR's detection and recognition networks, as ONNX files carried inside the ``rapidocr`` wheel (nothing is
downloaded), run by the project's onnxruntime. Whole-page OCR (Tesseract) returned nothing for most brand
names printed on products (curved, small, on textures); the scene-text pair reads them.

OCR is the slowest signal per image, so callers run it only when it can change the outcome (no brand named in
the text), on the follow-up queue. One engine is loaded per process (made again in a forked child); its
onnxruntime sessions are safe to call from several threads.

Detection is ~85% of OCR's time, so it runs an int8 copy of the wheel's detector (``int8_detector``): ONNX Runtime's
static quantization, per-channel weights, activation ranges calibrated on generated photos of printed words
(``ml.synth.printed``, fixed seeds) as the mean of each photo's range (a global min/max let a few outlying
activations coarsen the steps: 0.91-0.96 of words read, by calibration seed, against 0.98-0.99). It is made once per
machine and cached beside the engines' ONNX exports. ``python -m ml.cli.eval_ocr`` reads at least as many words
with it as with the float model.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import random
import threading

import numpy as np
from PIL import Image

from ml.config import OcrConfig

log = logging.getLogger(__name__)

MAX_SIDE = OcrConfig().max_side  # photos are decoded for OCR at this size


_lock = threading.Lock()
_engine_of: dict[tuple[int, OcrConfig], object] = {}  # (pid, config) -> engine


def _wheel_model(kind: str) -> str | None:
    """The ``rapidocr`` wheel's ONNX model file of ``kind`` ("det" or "rec"), None when it is missing."""
    try:
        import rapidocr

        models = os.path.join(os.path.dirname(rapidocr.__file__), "models")
        found = sorted(f for f in os.listdir(models) if f.endswith(".onnx") and f"_{kind}" in f)
    except (ImportError, OSError):
        return None
    return os.path.join(models, found[0]) if found else None


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when the OCR package and its bundled model files are present (checked once)."""
    return _wheel_model("det") is not None and _wheel_model("rec") is not None


def ocr_status() -> str:
    """One line for the health check."""
    return "available" if ocr_available() else "missing (scans run without OCR)"


def _engine(config: OcrConfig):
    with _lock:
        engine = _engine_of.get((os.getpid(), config))
        if engine is None:
            import torch
            from rapidocr import RapidOCR

            detector = int8_detector(config) if config.int8_detector else None
            engine = RapidOCR(params={
                "Global.log_level": "error", "Global.use_cls": False, "Global.text_score": config.min_confidence,
                "Det.limit_side_len": config.max_side, "Det.limit_type": "max",
                **({"Det.model_path": detector} if detector else {}),
                "EngineConfig.onnxruntime.intra_op_num_threads": config.threads or torch.get_num_threads(),
                "EngineConfig.onnxruntime.inter_op_num_threads": 1})
            if any(pid != os.getpid() for pid, _ in _engine_of):  # a forked child: the parent's are not ours
                _engine_of.clear()
            _engine_of[(os.getpid(), config)] = engine
        return engine


# The int8 detector's recipe: a change here makes a new cache file.
INT8_CALIBRATION_PHOTOS = 64
INT8_CALIBRATION_SEED = 1234
INT8_RECIPE = ("qdq", "u8-activations", "s8-per-channel-weights", "minmax-moving-average", "opset17",
               INT8_CALIBRATION_PHOTOS, INT8_CALIBRATION_SEED)


def int8_detector(config: OcrConfig) -> str | None:
    """Path of the int8 text detector, made on first use (tens of seconds) and cached; None (the float detector
    is used) when it cannot be made."""
    source = _wheel_model("det")
    if source is None:
        return None
    import onnxruntime

    from ml.engines.onnx_cache import cache_path, write_once

    with open(source, "rb") as f:
        key = hashlib.sha1(f.read() + repr((onnxruntime.__version__, config.max_side, INT8_RECIPE)).encode())
    path = cache_path(config.cache_dir, f"ppocr-det-int8-{key.hexdigest()[:16]}.onnx")
    try:
        write_once(path, lambda tmp: _quantize_detector(source, tmp, config.max_side))
    except Exception as exc:  # noqa: BLE001 - a detector that cannot be quantized still reads in float
        log.warning("OCR: the int8 text detector could not be made (%s); the float detector is used", exc)
        return None
    return path


def _quantize_detector(source: str, out: str, side: int) -> None:
    import onnx
    from onnx import version_converter
    from onnxruntime import quantization as q
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(source)
    name = model.graph.input[0].name
    converted, prepared = out + ".opset17.onnx", out + ".pre.onnx"
    try:
        # Per-channel weights need opset >= 13 (DequantizeLinear's axis); the wheel's model is older.
        onnx.save(version_converter.convert_version(model, 17), converted)
        quant_pre_process(converted, prepared, skip_symbolic_shape=True)
        batches = iter([{name: x} for x in _calibration_inputs(side)])

        class Photos(q.CalibrationDataReader):
            def get_next(self) -> dict | None:
                return next(batches, None)

        q.quantize_static(prepared, out, Photos(), quant_format=q.QuantFormat.QDQ, per_channel=True,
                          activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                          calibrate_method=q.CalibrationMethod.MinMax, extra_options={"CalibMovingAverage": True})
    finally:
        for f in (converted, prepared):
            if os.path.exists(f):
                os.unlink(f)


def _calibration_inputs(side: int) -> list[np.ndarray]:
    """Generated photos of printed words at the sizes listings come in, as the detector's input tensors."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from ml.synth.names import invent_names
    from ml.synth.printed import printed_word

    rng = random.Random(INT8_CALIBRATION_SEED)
    words = invent_names(random.Random(INT8_CALIBRATION_SEED + 1), INT8_CALIBRATION_PHOTOS)
    pre = DetPreProcess(side, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    photos = [at_detection_size(printed_word(rng, w, rng.choice((384, 512, 640))).image.convert("RGB"), side)
              for w in words]
    return [pre(np.asarray(p)[:, :, ::-1]) for p in photos]  # the engine reads BGR, as OpenCV does


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

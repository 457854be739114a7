"""Inference engines for the two encoders: ONNX Runtime, torch.compile (freezing + bf16), or plain eager.

Every engine is just a forward callable with the eager module's contract, so the embedders keep one
code path (preprocess, pooling, normalisation) and the engine only replaces the network call:

* image: ``(B, 3, S, S) float32 tensor -> (B, C, H, W) float32 feature map``
* text:  ``tokenizer output dict -> (B, T, H) float32 last hidden state``

``onnx`` exports each model once to an on-disk cache keyed by a hash of its weights (a few seconds,
then every process just loads the file); ``compile`` pays its compile time at load, never per task;
``eager`` is the plain PyTorch fallback that needs nothing beyond torch.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

ENGINES = ("onnx", "compile", "eager")
ImageForward = Callable[[torch.Tensor], torch.Tensor]
TextForward = Callable[[dict[str, torch.Tensor]], torch.Tensor]
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def resolve_engine(name: str | None = None) -> str:
    """``AC_ENGINE`` (or ``name``) -> a concrete engine; ``auto`` picks ONNX Runtime when installed."""
    name = (name or os.environ.get("AC_ENGINE") or "auto").strip().lower()
    if name == "auto":
        return "onnx" if importlib.util.find_spec("onnxruntime") else "eager"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)} or auto")
    return name


def cache_dir() -> str:
    return os.environ.get("AC_ENGINE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "anticounterfeit",
                                                            "engines")


def weights_key(model: torch.nn.Module, *extra: object) -> str:
    """Hash of every tensor of the model (plus export settings): a changed weight never reuses a file."""
    h = hashlib.sha1(repr((torch.__version__, *extra)).encode())
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


# ---- eager -------------------------------------------------------------------------------------
def eager_image(model: torch.nn.Module) -> ImageForward:
    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model.forward_features(x)

    return forward


def eager_text(model: torch.nn.Module) -> TextForward:
    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            return model(**{k: enc[k] for k in TEXT_INPUTS if k in enc}).last_hidden_state

    return forward


# ---- ONNX Runtime ------------------------------------------------------------------------------
class _Features(torch.nn.Module):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)


class _Hidden(torch.nn.Module):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.net(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids).last_hidden_state


def _export_once(path: str, module: torch.nn.Module, args: tuple, names: list[str], axes: dict) -> None:
    """Export to a temp file, then rename: concurrent workers never load half a file."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation/tracer notes
            torch.onnx.export(module.eval(), args, tmp, input_names=names, output_names=["out"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("exported %s in %.1fs", os.path.basename(path), time.perf_counter() - t0)


def _session(path: str, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Busy-waiting threads steal the core from decode/search and from neighbours on a small box.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    return ort.InferenceSession(path, so, providers=providers)


def onnx_image(model: torch.nn.Module, input_size: int, threads: int) -> ImageForward:
    path = os.path.join(cache_dir(), f"effnet-{weights_key(model, input_size)}.onnx")
    x = torch.zeros(2, 3, input_size, input_size)
    _export_once(path, _Features(model), (x,), ["x"], {"x": {0: "b"}, "out": {0: "b"}})
    sess = _session(path, threads)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(sess.run(None, {"x": x.numpy()})[0])

    return forward


def onnx_text(model: torch.nn.Module, threads: int) -> TextForward:
    path = os.path.join(cache_dir(), f"minilm-{weights_key(model)}.onnx")
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {k: {0: "b", 1: "t"} for k in TEXT_INPUTS} | {"out": {0: "b", 1: "t"}}
    _export_once(path, _Hidden(model), (ids, ids, torch.zeros_like(ids)), list(TEXT_INPUTS), axes)
    sess = _session(path, threads)

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        ids = enc["input_ids"]
        feed = {k: (enc[k] if k in enc else torch.zeros_like(ids)).numpy().astype("int64") for k in TEXT_INPUTS}
        return torch.from_numpy(sess.run(None, feed)[0])

    return forward


# ---- torch.compile -----------------------------------------------------------------------------
def _bf16_ok() -> bool:
    """bf16 autocast only on request (``AC_BF16=1``): on fakebench photos it drifted to cosine 0.992 vs fp32,
    below the 0.995 the banks are checked against; and only where the hardware has bf16 units."""
    if os.environ.get("AC_BF16", "0") != "1":
        return False
    return torch.cuda.is_available() or torch.backends.mkldnn.is_available() and _cpu_has_bf16()


def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        return False


def compile_image(model: torch.nn.Module, input_size: int, batch: int) -> ImageForward:
    """Inductor with weight freezing (+ bf16 autocast with ``AC_BF16=1``); compiled and warmed up here."""
    import torch._inductor.config as inductor

    inductor.freezing = True
    fn = torch.compile(model.forward_features, dynamic=False)
    bf16 = _bf16_ok()

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return fn(x).float()

    t0 = time.perf_counter()
    forward(torch.zeros(batch, 3, input_size, input_size))
    log.info("compiled image model in %.1fs (bf16=%s)", time.perf_counter() - t0, bf16)
    return forward


def compile_text(model: torch.nn.Module) -> TextForward:
    import torch._inductor.config as inductor

    inductor.freezing = True
    fn = torch.compile(model, dynamic=True)
    bf16 = _bf16_ok()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return fn(**{k: enc[k] for k in TEXT_INPUTS if k in enc}).last_hidden_state.float()

    return forward


# ---- factory -----------------------------------------------------------------------------------
def build_forwards(engine: str, image_model: torch.nn.Module, text_model: torch.nn.Module, *, input_size: int,
                   batch: int, threads: int) -> tuple[str, ImageForward, TextForward]:
    """Return ``(engine actually used, image forward, text forward)``.

    A failing accelerated engine (missing compiler, export error) degrades to eager with a warning,
    so a worker on a bare machine still starts.
    """
    try:
        if engine == "onnx":
            return engine, onnx_image(image_model, input_size, threads), onnx_text(text_model, threads)
        if engine == "compile":
            return engine, compile_image(image_model, input_size, batch), compile_text(text_model)
    except Exception:  # noqa: BLE001 - any engine failure falls back to the reference path
        log.warning("engine %s unavailable, falling back to eager", engine, exc_info=True)
    return "eager", eager_image(image_model), eager_text(text_model)

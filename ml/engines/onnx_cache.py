"""ONNX exports cached on disk, keyed by a hash of the weights: exported once, then every process (every
worker, every restart) just loads the file."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

# Any batch, any input size: one file serves both the scan's squares and the small-logo stage's whole-photo
# pass (as fast at the input size as a fixed-size export).
IMAGE_AXES = {"x": {0: "b", 2: "h", 3: "w"}, "out": {0: "b"}}


def default_cache_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".cache", "anticounterfeit", "engines")


def cache_path(cache_dir: str | None, filename: str) -> str:
    """Where the export ``filename`` lives under ``cache_dir`` (None: ``default_cache_dir()``)."""
    return os.path.join(cache_dir or default_cache_dir(), filename)


def weights_key(model: torch.nn.Module, *extra: object) -> str:
    """Hash of every tensor of the model (plus export settings): a changed weight never reuses a file."""
    h = hashlib.sha1(repr((torch.__version__, *extra)).encode())
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def write_once(path: str, write: Callable[[str], None]) -> None:
    """Make ``path`` with ``write(tmp)`` into a temp file, then rename: concurrent workers never load half a file."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".onnx.tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("wrote %s in %.1fs", os.path.basename(path), time.perf_counter() - t0)


def export_once(path: str, module: torch.nn.Module, args: tuple, names: list[str], axes: dict) -> None:
    """The module's ONNX export at ``path``, unless it is already there."""

    def export(tmp: str) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation/tracer notes
            torch.onnx.export(module.eval(), args, tmp, input_names=names, output_names=["out"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)

    write_once(path, export)


def session(path: str, threads: int):
    """An ONNX Runtime session on ``threads`` intra-op threads that never spin."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Busy-waiting threads steal the core from decode/search and from neighbours on a small box.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    return ort.InferenceSession(path, so, providers=providers)

"""Inference engines for the two encoders: CUDA, ONNX Runtime, torch.compile (freezing + bf16), or plain eager.

Every engine is just a forward callable with the eager module's contract, so the embedders keep one
code path (preprocess, pooling, normalisation) and the engine only replaces the network call:

* image: ``(B, 3, S, S) float32 tensor -> (B, C, H, W) float32 feature map``
* text:  ``tokenizer output dict -> (B, T, H) float32 last hidden state``

``cuda`` (the default where torch sees a GPU) runs both models on the GPU: EfficientNet as CUDA graphs, fp32
stem and first block, fp16 after; MiniLM in bf16; float32 CPU tensors in and out like every engine. Without a
GPU it falls back to the CPU's choice. ``mixed`` (the default on CPUs where bf16 is fast: ``bf16_hardware``)
runs each part of each model where it is fast and still exact enough: EfficientNet's stem and first block in
fp32 on ONNX Runtime, the rest in bf16 under torch.compile, MiniLM in fp32 packed under torch.compile (see
Precision). ``onnx`` (the
default elsewhere) runs EfficientNet in fp32 on ONNX Runtime, exported once to an on-disk cache keyed by a hash
of its weights (a few seconds, then every process just loads the file), and MiniLM in fp32 packed under
torch.compile (``packed_text``), or padded on ONNX Runtime where torch.compile cannot run. ``compile`` pays its
compile time at load, never per task; ``eager`` is the plain PyTorch fallback that needs nothing beyond torch.
An engine that cannot start (no C++ compiler for torch.compile, an export error) degrades to the next one.

Precision (``AC_BF16``): every engine must keep embeddings within cosine 0.995 of fp32 (the banks are
checked against that), and lose nothing on the fakebench dev figures. MiniLM in bf16 stays at cosine >= 0.9999
of fp32 on fakebench titles and runs ~1.6x faster than fp32 where bf16 is fast (AMX), but under brand-grouped
CV it cost one counterfeit at precision 0.95 (recall 0.9095 -> 0.9048, Zen 4 and Zen 5), so ``auto`` keeps
MiniLM in fp32 and bf16 text is opt-in (``AC_BF16=1``). EfficientNet-Lite0 wholly in bf16 drifts to cosine 0.993; nearly all of that comes from
its first block (128x128, 32 channels): with the stem and that block in fp32 the rest in bf16 stays at
>= 0.999 (min over fakebench photos), which is what ``mixed`` runs. ``AC_BF16=1`` asks for bf16 everywhere it
runs natively, fast or not (the ``compile`` engine's autocast, 0.993); ``0`` is fp32 throughout. On the GPU
(``cuda``, not governed by ``AC_BF16``; 64 fakebench photos, H100): EfficientNet in bf16 drifts further (pooled
0.992, the tile pass's windows 0.81), in fp16 throughout it keeps pooled vectors at 0.9999 but the tile pass's
windows reach only 0.994, and cuDNN's default TF32 for fp32 convs rounds as coarsely as fp16; the stem and first
block in IEEE fp32 (no TF32), the rest fp16, give >= 0.9995 everywhere (pooled 0.99999) for 1-4% more time a call.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator

import torch

from ml.hardware import cpu_flags, cpu_vendor, fast_bf16

log = logging.getLogger(__name__)

ENGINES = ("cuda", "mixed", "onnx", "compile", "eager")
ImageForward = Callable[[torch.Tensor], torch.Tensor]
TextForward = Callable[[dict[str, torch.Tensor]], torch.Tensor]
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def resolve_engine(name: str | None = None) -> str:
    """``AC_ENGINE`` (or ``name``) -> a concrete engine.

    ``auto``: ``cuda`` where torch sees a CUDA device; else ``mixed`` where ONNX Runtime is installed and the
    CPU's bf16 units are fast (``bf16_hardware``; any bf16 units with ``AC_BF16=1``, none with ``AC_BF16=0``);
    on any other CPU ``onnx``; without ONNX Runtime ``eager``.
    """
    name = (name or os.environ.get("AC_ENGINE") or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else cpu_engine()
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)} or auto")
    return name


def cpu_engine() -> str:
    """What ``auto`` picks on the CPU (also where ``cuda`` falls back to without a CUDA device)."""
    if not importlib.util.find_spec("onnxruntime"):
        return "eager"
    return "mixed" if mixed_ok() and not torch.cuda.is_available() else "onnx"


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
def eager_image(model: torch.nn.Module, device: str | torch.device | None = None) -> ImageForward:
    """The plain module call. With ``device`` (the model already there) inputs go there and the feature map
    comes back as float32 on the CPU: the same contract as every engine, so a benchmark can run the plain
    fp32 baseline on the engine's own device."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            if device is None:
                return model.forward_features(x)
            return model.forward_features(x.to(device)).float().cpu()

    return forward


def eager_text(model: torch.nn.Module, device: str | torch.device | None = None) -> TextForward:
    """``eager_image`` for MiniLM: tokenizer dict (CPU) -> (B, T, H) float32 on the CPU."""
    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            feed = {k: enc[k] if device is None else enc[k].to(device) for k in TEXT_INPUTS if k in enc}
            hidden = model(**feed).last_hidden_state
            return hidden if device is None else hidden.float().cpu()

    return forward


def _compiled(fn: Callable[..., object], *, dynamic: bool) -> Callable[..., object]:
    """``torch.compile`` with weight freezing (weights become constants Inductor folds and pre-packs).

    Each model built in a process adds graphs under the same code objects (a module's ``forward``), and past
    Dynamo's recompile limit (8) the next model silently runs eager: in bf16 that is slower and no longer the
    same result for a batch of 1 and of 2. A process that builds several (the test suite, the bench's lanes)
    gets a higher limit.
    """
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    inductor.freezing = True
    dynamo.recompile_limit = max(dynamo.recompile_limit, 64)
    return torch.compile(fn, dynamic=dynamic)


def packed_text(model: torch.nn.Module, dtype: torch.dtype) -> TextForward:
    """MiniLM in ``dtype`` (a copy; the fp32 model stays the reference), batches run packed, hidden states back
    in fp32.

    A batch runs packed (``pack_tokens``: no padding tokens, ~25% less work on titles) under torch.compile with
    freezing and dynamic shapes: one graph for every pack length, compiled here (~13 s). In fp32 that is ~1.25x
    fp32 ONNX Runtime on the padded batch; in bf16 on fast bf16 units (``bf16_hardware``) ~1.6x. One intra-op
    thread: a title is ~100 small ops, and with two OpenMP threads every op waits on a barrier, which on a
    busy box (another worker on the other core) made a batch of 8 titles ~60x slower (800 ms vs 12 ms).
    Raises where torch.compile cannot run (e.g. no C++ compiler): the caller picks another engine.
    """
    import copy

    net = copy.deepcopy(model).to(dtype).eval()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # before any compile too: Inductor bakes the thread count into its kernels
        try:
            with torch.inference_mode():
                return run_packed(lambda feed: net(**feed).last_hidden_state, enc).float()
        finally:
            torch.set_num_threads(threads)

    sample = {"input_ids": torch.tensor([[101, 2023, 102], [101, 102, 0]]),
              "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])}
    t0 = time.perf_counter()
    net = _compiled(net, dynamic=True)
    forward(sample)
    log.info("packed %s text engine compiled in %.1fs", str(dtype).removeprefix("torch."), time.perf_counter() - t0)
    return forward


# ---- packed text batches -------------------------------------------------------------------------
PACK_TOKENS = 256  # tokens per packed sequence: attention over a pack grows with its square


def pack_tokens(enc: dict[str, torch.Tensor]) -> list[tuple[slice, dict[str, torch.Tensor]]]:
    """A padded tokenizer batch as packed sequences: each row's real tokens back to back, positions restarting
    per row, attention only within a row (a block-diagonal mask).

    The encoder then computes nothing for padding, which on titles of uneven length is a quarter of the
    batch, and the hidden states of the real tokens are those of the padded run (the same maths). Rows are
    grouped in order into packs of at most ``PACK_TOKENS`` tokens (a longer row is a pack of its own).
    """
    mask = enc["attention_mask"].bool()
    lens = mask.sum(1).tolist()
    types = enc.get("token_type_ids")
    packs, start, total = [], 0, 0
    for row, n in enumerate([*lens, None]):
        if row > start and (n is None or total + n > PACK_TOKENS):
            rows = slice(start, row)
            m = mask[rows]
            seg = torch.repeat_interleave(torch.arange(row - start), torch.tensor(lens[rows]))
            starts = torch.cumsum(torch.tensor([0, *lens[rows][:-1]]), 0)
            ids = enc["input_ids"][rows][m].unsqueeze(0)
            packs.append((rows, {
                "input_ids": ids,
                "attention_mask": (seg[:, None] == seg[None, :])[None, None],
                "position_ids": (torch.arange(len(seg)) - starts[seg]).unsqueeze(0),
                "token_type_ids": types[rows][m].unsqueeze(0) if types is not None else torch.zeros_like(ids),
            }))
            start, total = row, 0
        total += n or 0
    return packs


def run_packed(net: Callable[[dict[str, torch.Tensor]], torch.Tensor],
               enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """``net`` (packed feed -> (1, T, H)) over ``pack_tokens(enc)``, back in the padded (B, T, H) layout with
    zeros at padding (which pooling masks out)."""
    mask = enc["attention_mask"].bool()
    out = None
    for rows, feed in pack_tokens(enc):
        hidden = net(feed)[0]
        if out is None:
            out = hidden.new_zeros((*mask.shape, hidden.shape[-1]))
        out[rows][mask[rows]] = hidden
    assert out is not None, "an empty batch has nothing to encode"
    return out


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


IMAGE_AXES = {"x": {0: "b", 2: "h", 3: "w"}, "out": {0: "b"}}  # any batch, any input size: one file serves both
# the scan's squares and the small-logo stage's whole-photo pass (as fast at the input size as a fixed-size export)


def onnx_image(model: torch.nn.Module, input_size: int, threads: int) -> ImageForward:
    path = os.path.join(cache_dir(), f"effnet-hw-{weights_key(model, input_size)}.onnx")
    x = torch.zeros(2, 3, input_size, input_size)
    _export_once(path, _Features(model), (x,), ["x"], IMAGE_AXES)
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


# ---- precision ---------------------------------------------------------------------------------
def bf16_policy() -> str:
    """``AC_BF16``: ``auto`` (``mixed``'s bf16 image body where bf16 is fast), ``1`` (bf16 everywhere it runs
    natively), ``0`` (fp32)."""
    value = os.environ.get("AC_BF16", "auto").strip().lower() or "auto"
    if value not in ("auto", "0", "1"):
        raise ValueError(f"AC_BF16={value!r}; expected auto, 0 or 1")
    return value


def bf16_hardware() -> bool:
    """Whether bf16 pays here: CUDA, or CPU bf16 units faster than fp32 (``ml.hardware.fast_bf16``). Where
    there are none torch emulates bf16, and where they are slow (Intel AVX512-BF16 without AMX) it runs,
    slower than fp32."""
    return torch.cuda.is_available() or (_onednn() and fast_bf16(cpu_flags(), cpu_vendor()))


def bf16_units() -> bool:
    """Whether bf16 runs natively here at all, fast or not (what ``AC_BF16=1`` asks for)."""
    return torch.cuda.is_available() or (_onednn() and not cpu_flags().isdisjoint({"avx512_bf16", "amx_bf16"}))


def _onednn() -> bool:
    return torch.backends.mkldnn.is_available()


def mixed_ok() -> bool:
    """Whether ``mixed`` (its bf16 image body) runs here: fast bf16 units under ``auto``, any with ``AC_BF16=1``,
    never with ``AC_BF16=0``."""
    policy = bf16_policy()
    return policy != "0" and (bf16_units() if policy == "1" else bf16_hardware())


def _bf16_everywhere() -> bool:
    """Whether MiniLM (and the ``compile`` engine's autocast) runs in bf16: only with ``AC_BF16=1``, where bf16
    runs natively. Under ``auto`` MiniLM stays fp32 (see Precision: bf16 text cost a fakebench counterfeit)."""
    return bf16_policy() == "1" and bf16_units()


def compile_image(model: torch.nn.Module, sizes: tuple[int, ...], batch: int) -> ImageForward:
    """Inductor with weight freezing (+ bf16 autocast with ``AC_BF16=1``); compiled and warmed up here for each
    input size in ``sizes``."""
    fn = _compiled(model.forward_features, dynamic=False)
    bf16 = _bf16_everywhere()

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return fn(x).float()

    t0 = time.perf_counter()
    for size in sizes:
        forward(torch.zeros(batch, 3, size, size))
    log.info("compiled image model in %.1fs (bf16=%s)", time.perf_counter() - t0, bf16)
    return forward


def compile_text(model: torch.nn.Module) -> TextForward:
    fn = _compiled(model, dynamic=True)
    bf16 = _bf16_everywhere()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return fn(**{k: enc[k] for k in TEXT_INPUTS if k in enc}).last_hidden_state.float()

    return forward


# ---- mixed: fp32 stem on ONNX Runtime, bf16 body under torch.compile --------------------------------
FP32_BLOCKS = 1  # EfficientNet blocks kept in fp32 after the stem (see Precision in the module docstring)


class _Stem(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, blocks: int):
        super().__init__()
        self.net, self.blocks = net, blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net.bn1(self.net.conv_stem(x))
        for block in self.net.blocks[: self.blocks]:
            x = block(x)
        # NHWC out: ONNX Runtime writes it straight from its blocked layout, and the body's channels-last bf16
        # input is then a plain cast (stem + hand-over 0.83 -> 0.57 ms per image, bit-identical)
        return x.permute(0, 2, 3, 1)


class _Body(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, blocks: int):
        super().__init__()
        self.net, self.blocks = net, blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.net.blocks[self.blocks:]:
            x = block(x)
        return self.net.bn2(self.net.conv_head(x))


def mixed_image(model: torch.nn.Module, sizes: tuple[int, ...], threads: int) -> ImageForward:
    """Stem + first block in fp32 (ONNX Runtime), the rest in bf16 channels-last under torch.compile.

    ~1.5x the throughput of fp32 ONNX Runtime on AMX at cosine >= 0.999. The batch dimension is compiled
    dynamic (one graph for every batch size > 1, plus batch 1), for each input size in ``sizes``, all warmed
    up here: no task compiles.
    """
    import copy

    key = weights_key(model, sizes[0], FP32_BLOCKS, "nhwc")
    path = os.path.join(cache_dir(), f"effnet-stem{FP32_BLOCKS}-nhwc-hw-{key}.onnx")
    x = torch.zeros(2, 3, sizes[0], sizes[0])
    _export_once(path, _Stem(model, FP32_BLOCKS), (x,), ["x"], IMAGE_AXES)
    stem = _session(path, threads)
    body = _Body(copy.deepcopy(model), FP32_BLOCKS).to(torch.bfloat16).to(memory_format=torch.channels_last).eval()
    fn = _compiled(body, dynamic=False)

    def forward(x: torch.Tensor) -> torch.Tensor:
        h = torch.from_numpy(stem.run(None, {"x": x.numpy()})[0]).permute(0, 3, 1, 2)  # channels-last view
        h = h.to(dtype=torch.bfloat16)  # one copy, keeps channels-last
        if h.shape[0] > 1:
            torch._dynamo.mark_dynamic(h, 0)
        with torch.inference_mode():
            return fn(h).float()

    t0 = time.perf_counter()
    for size in sizes:
        for n in (2, 1):
            forward(torch.zeros(n, 3, size, size))
    log.info("mixed image engine compiled in %.1fs", time.perf_counter() - t0)
    return forward


# ---- cuda: both models on the GPU, float32 CPU tensors in and out ----------------------------------
CUDA_IMAGE_DTYPE = torch.float16  # EfficientNet's GPU copy, after its fp32 stem and first blocks (see Precision)
CUDA_FP32_BLOCKS = 1  # EfficientNet blocks kept in IEEE fp32 after the stem (0: the stem in CUDA_IMAGE_DTYPE too)
CUDA_TEXT_DTYPE = torch.bfloat16  # MiniLM's GPU copy
CUDA_GRAPHS = True  # replay the image model as CUDA graphs, one per (batch size, input size)


def _pinned(x: torch.Tensor) -> torch.Tensor:
    """``x`` in page-locked memory: its copy to the GPU is one DMA, not staged through a driver buffer."""
    return x if x.is_pinned() else x.pin_memory()


def _to_cpu(y: torch.Tensor) -> torch.Tensor:
    """``y`` (on the GPU) as float32 on the CPU: cast on the GPU, copied into page-locked memory, then waited
    for (the caller reads it at once)."""
    y = y.float()
    if y.device.type == "cpu":
        return y
    out = torch.empty_strided(y.shape, y.stride(), dtype=torch.float32, pin_memory=True)
    out.copy_(y, non_blocking=True)
    torch.cuda.current_stream(y.device).synchronize()
    return out


@contextlib.contextmanager
def _ieee_fp32() -> Iterator[None]:
    """fp32 convolutions without TF32 (cuDNN's default on Ampere and later rounds their inputs to 10 bits, as
    coarse as fp16). Captured graphs keep the kernels chosen here."""
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = old


def image_runner(model: torch.nn.Module, device: torch.device, dtype: torch.dtype,
                 fp32_blocks: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A channels-last copy of EfficientNet on ``device``: stem and first ``fp32_blocks`` blocks (if > 0) in
    IEEE fp32, the rest in ``dtype``. Returns float32 NCHW on the device -> float32 feature map on the device
    (``forward_features``)."""
    import copy

    cl = torch.channels_last
    net = copy.deepcopy(model).to(device=device, memory_format=cl).eval()
    stem = [net.conv_stem, net.bn1]
    head = [*stem, *net.blocks[:fp32_blocks]] if fp32_blocks else []
    body = [*([] if head else stem), *net.blocks[fp32_blocks:], net.conv_head, net.bn2]
    for module in body:
        module.to(dtype)

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=cl)
        with _ieee_fp32():
            for module in head:
                x = module(x)
        x = x.to(dtype)
        for module in body:
            x = module(x)
        return x.float()

    return run


def cuda_image(model: torch.nn.Module, sizes: tuple[int, ...], batch: int, *, device: str = "cuda",
               dtype: torch.dtype | None = None, fp32_blocks: int | None = None,
               graphs: bool | None = None) -> ImageForward:
    """EfficientNet on the GPU (``image_runner``; defaults: the ``CUDA_*`` settings above).

    With ``graphs`` each batch size 1..``batch`` at each input size in ``sizes`` is captured at load as a CUDA
    graph: a call is then a copy in, one replay and a copy out, instead of ~100 kernel launches from Python
    (H100, batch of 8 at 256 px in fp16: 1.15 against 3.38 ms a call, most of that the CPU's). Other shapes (a larger
    batch is cut into ``batch``-sized pieces) run the same module without a graph. Replays share static
    buffers, so calls take a lock (one GPU; the lanes of a process queue for it anyway).

    Load cost: cuDNN spends ~2-3 s on the first run of each new shape (H100, cuDNN 9.19; a capture then takes
    0.02 s), so the 16 shapes of the default settings make ``load_models`` take 25-50 s, paid here and not by
    a task. cuDNN autotuning (``cudnn.benchmark``) was no faster there (replays within 1%), so it stays off.
    """
    import threading

    dtype = dtype or CUDA_IMAGE_DTYPE
    fp32_blocks = CUDA_FP32_BLOCKS if fp32_blocks is None else fp32_blocks
    graphs = CUDA_GRAPHS if graphs is None else graphs
    dev = torch.device(device)
    run = image_runner(model, dev, dtype, fp32_blocks)
    captured: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor, torch.cuda.CUDAGraph]] = {}
    lock = threading.Lock()

    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > batch:
            return torch.cat([forward(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
        with lock, torch.no_grad():
            xin = x if dev.type == "cpu" else _pinned(x)
            hit = captured.get(tuple(x.shape))
            if hit is None:
                return _to_cpu(run(xin.to(dev, non_blocking=True)))
            static_in, static_out, graph = hit
            static_in.copy_(xin, non_blocking=True)
            graph.replay()
            return _to_cpu(static_out)

    t0 = time.perf_counter()
    pool = torch.cuda.graph_pool_handle() if graphs and dev.type == "cuda" else None
    with torch.no_grad():
        for size in sizes:
            for n in range(batch, 0, -1):
                x = torch.randn(n, 3, size, size)
                if pool is None:
                    forward(x)  # cuDNN's first run of this shape, here and not in a task
                else:
                    captured[tuple(x.shape)] = _capture(run, x.to(dev), pool)
    log.info("cuda image engine (%s, %d fp32 blocks, %d graphs) ready in %.1fs", str(dtype).removeprefix("torch."),
             fp32_blocks, len(captured), time.perf_counter() - t0)
    return forward


def _capture(run: Callable[[torch.Tensor], torch.Tensor], static_in: torch.Tensor,
             pool: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.cuda.CUDAGraph]:
    """Warm ``run`` up on a side stream (cuDNN autotuning, allocations), then capture it as a CUDA graph reading
    ``static_in``; returns ``(static_in, static_out, graph)``. Graphs share one memory pool (they never run at
    once)."""
    side = torch.cuda.Stream(static_in.device)
    side.wait_stream(torch.cuda.current_stream(static_in.device))
    with torch.cuda.stream(side):
        for _ in range(3):
            run(static_in)
    torch.cuda.current_stream(static_in.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        static_out = run(static_in)
    return static_in, static_out, graph


def cuda_text(model: torch.nn.Module, *, device: str = "cuda", dtype: torch.dtype | None = None) -> TextForward:
    """MiniLM on the GPU: a ``dtype`` copy run on the padded batch as the tokenizer gives it (on the GPU the
    padding costs nothing worth packing away), hidden states back as float32 on the CPU. No graphs: every batch
    has another length. H100, 32 fakebench titles: bf16 3.5 ms a batch (cosine >= 0.9999 of fp32), fp16 6.8,
    plain fp32 5.1: launch-bound, and bf16 was the fastest."""
    import copy

    dtype = dtype or CUDA_TEXT_DTYPE
    dev = torch.device(device)
    net = copy.deepcopy(model).to(device=dev, dtype=dtype).eval()

    def forward(enc: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            feed = {k: enc[k].to(dev, non_blocking=True) for k in TEXT_INPUTS if k in enc}
            return _to_cpu(net(**feed).last_hidden_state)

    forward({"input_ids": torch.tensor([[101, 2023, 102], [101, 102, 0]]),
             "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])})
    return forward


# ---- factory -----------------------------------------------------------------------------------
def _policy_text(text_model: torch.nn.Module) -> tuple[str, TextForward]:
    """The packed MiniLM of the CPU engines in the precision ``AC_BF16`` gives it, and the engine-name suffix
    that says so (``+bf16-text``, or nothing for fp32)."""
    bf16 = _bf16_everywhere()
    return ("+bf16-text" if bf16 else ""), packed_text(text_model, torch.bfloat16 if bf16 else torch.float32)


def build_forwards(engine: str, image_model: torch.nn.Module, text_model: torch.nn.Module, *, input_size: int,
                   batch: int, threads: int,
                   extra_sizes: tuple[int, ...] = ()) -> tuple[str, ImageForward, TextForward]:
    """Return ``(engine actually used, image forward, text forward)``; ``+bf16-text`` after ``mixed`` or
    ``onnx`` when the text encoder runs in bf16 (``AC_BF16=1``, see ``bf16_policy``). The image forward serves
    ``input_size`` and ``extra_sizes`` (compiled engines compile each at load, ``cuda`` captures each).

    ``cuda`` without a CUDA device (or failing to build) falls back to the CPU's ``auto`` choice; a failing
    CPU engine (missing compiler, export error) degrades to eager, each with a warning, so a worker on a bare
    machine still starts.
    """
    sizes = (input_size, *[s for s in extra_sizes if s != input_size])
    if engine == "cuda":
        try:
            if not torch.cuda.is_available():
                raise RuntimeError("no CUDA device: torch.cuda.is_available() is False")
            return engine, cuda_image(image_model, sizes, batch), cuda_text(text_model)
        except Exception:  # noqa: BLE001 - no GPU, a driver or memory error: the CPU engines still run
            engine = cpu_engine()
            log.warning("engine cuda unavailable, falling back to %s", engine, exc_info=True)
    if engine == "mixed":
        try:
            if not mixed_ok():
                raise RuntimeError("needs fast bf16 units (or AC_BF16=1 on slow ones) and AC_BF16 other than 0")
            suffix, text = _policy_text(text_model)
            return engine + suffix, mixed_image(image_model, sizes, threads), text
        except Exception:  # noqa: BLE001 - e.g. no C++ compiler for torch.compile
            log.warning("engine mixed unavailable, falling back to onnx", exc_info=True)
            engine = "onnx"
    try:
        if engine == "onnx":
            image = onnx_image(image_model, input_size, threads)
            try:
                suffix, text = _policy_text(text_model)
            except Exception:  # noqa: BLE001 - no working torch.compile: the padded batch on ONNX Runtime
                log.warning("packed text engine unavailable, running MiniLM on ONNX Runtime", exc_info=True)
                return engine, image, onnx_text(text_model, threads)
            return engine + suffix, image, text
        if engine == "compile":
            return engine, compile_image(image_model, sizes, batch), compile_text(text_model)
    except Exception:  # noqa: BLE001 - any engine failure falls back to the reference path
        log.warning("engine %s unavailable, falling back to eager", engine, exc_info=True)
    return "eager", eager_image(image_model), eager_text(text_model)

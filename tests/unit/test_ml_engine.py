"""Inference engines: ONNX Runtime matches the eager fp32 reference; a broken engine degrades to eager."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ml.config import ModelsConfig
from ml.engine import build_forwards, resolve_engine
from ml.models import load_models


@pytest.fixture(scope="module")
def both():
    return load_models(ModelsConfig(engine="onnx")), load_models(ModelsConfig(engine="eager"))


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    noise = Image.fromarray((rng.random((180, 260, 3)) * 255).astype(np.uint8))
    logo = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(logo).ellipse((60, 40, 340, 260), fill=(200, 20, 40), outline="black", width=8)
    return [noise, logo, Image.new("RGB", (64, 64), (10, 120, 200))]


def test_resolve_engine_reads_env_and_refuses_unknown(monkeypatch):
    monkeypatch.setenv("AC_ENGINE", "eager")
    assert resolve_engine() == "eager"
    monkeypatch.setenv("AC_ENGINE", "auto")
    assert resolve_engine() == "onnx"  # onnxruntime is a pinned dependency
    assert resolve_engine("COMPILE") == "compile"
    with pytest.raises(ValueError, match="unknown engine 'tensorrt'"):
        resolve_engine("tensorrt")


def test_onnx_embeddings_match_eager_fp32(both):
    fast, ref = both
    assert (fast.engine, ref.engine) == ("onnx", "eager")
    assert fast.image.forward is not fast.image.eager_forward
    ims = _photos()
    g1, r1 = fast.image.embed(ims)
    g2, r2 = ref.image.embed(ims)
    assert np.min(np.sum(g1 * g2, axis=1)) >= 0.995
    assert np.min(np.sum(r1 * r2, axis=-1)) >= 0.995
    texts = ["Acme RoadRunner trap, genuine", "red running shoes for men size 44", ""]
    t1, t2 = fast.text.embed(texts), ref.text.embed(texts)
    assert np.min(np.sum(t1 * t2, axis=1)) >= 0.995
    # Different padded lengths in one batch still agree row by row (dynamic axes exported).
    assert np.allclose(fast.text.embed(texts[:1])[0], t1[0], atol=1e-4)


def test_same_embedding_space_version_for_every_engine(both):
    fast, ref = both
    assert fast.version == ref.version  # banks built under one engine stay valid under the other


def test_broken_engine_falls_back_to_eager(caplog):
    class NoFeatures(torch.nn.Module):  # export fails: no forward_features
        def forward(self, x):
            return x

    used, img, _txt = build_forwards("onnx", NoFeatures(), NoFeatures(), input_size=32, batch=1, threads=1)
    assert used == "eager"
    assert "falling back to eager" in caplog.text
    with pytest.raises(AttributeError):
        img(torch.zeros(1, 3, 32, 32))  # the eager path is the real module call, not a stub

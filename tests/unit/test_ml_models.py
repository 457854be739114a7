"""Embedders: shapes, normalisation, the effnet weight mapping, MiniLM similarity sanity."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ml.effnet import WeightMappingError, remap_lukemelas_to_timm
from ml.models import load_models
from ml.paths import effnet_weights_path


@pytest.fixture(scope="session")
def models():
    return load_models()


def _grid_image() -> Image.Image:
    im = Image.new("RGB", (224, 224), "white")
    d = ImageDraw.Draw(im)
    for i in range(0, 224, 20):
        d.line((i, 0, i, 224), fill="black", width=2)
        d.line((0, i, 224, i), fill="black", width=2)
    return im


def test_remap_pairs_every_key_and_reports_all_mismatches():
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    sd = torch.load(effnet_weights_path(), map_location="cpu", weights_only=True)
    mapped = remap_lukemelas_to_timm(sd, model)
    assert list(mapped) == list(model.state_dict())
    model.load_state_dict(mapped, strict=True)
    assert remap_lukemelas_to_timm(mapped, model) == mapped  # native dict: early return
    bad = dict(sd)
    k1, k2 = list(bad)[0], list(bad)[-1]
    bad[k1], bad[k2] = torch.zeros(1), torch.zeros(2)
    with pytest.raises(WeightMappingError) as exc:
        remap_lukemelas_to_timm(bad, model)
    assert k1 in str(exc.value) and k2 in str(exc.value)


def test_effnet_classifies_grid_as_screen_like(models):
    """A black-on-white grid is a shoji / window screen / crossword to ImageNet. A mis-paired weight
    load (wrong order, wrong normalisation) produces near-uniform or unrelated predictions."""
    p = torch.tensor(models.image.logits([_grid_image()])).softmax(1)[0]
    top5 = set(p.topk(5).indices.tolist())
    assert top5 & {789, 904, 918}  # shoji, window screen, crossword puzzle
    assert float(p.max()) > 0.2


def test_image_embedding_shapes_and_norms(models):
    ims = [_grid_image(), Image.new("RGB", (300, 120), (10, 200, 30))]
    g, r = models.image.embed(ims)
    assert g.shape == (2, 1280) and g.dtype == np.float32
    assert r.shape == (2, len(models.image.boxes), 1280)
    assert np.allclose(np.linalg.norm(g, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(r, axis=2), 1, atol=1e-4)
    g2, none = models.image.embed(ims[:1], regions=False)
    assert none is None and np.allclose(g2[0], g[0], atol=1e-5)  # batch composition does not matter
    assert models.image.embed([])[0].shape == (0, 1280)


def test_text_embeddings(models):
    e = models.text.embed(["red running shoes for men", "crimson sneakers for jogging, male sizes",
                           "quarterly corporate tax filing deadline", ""])
    assert e.shape == (4, 384)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_fused_batchnorm_matches_plain_model():
    from ml.effnet import build_effnet, fuse_batchnorm

    plain = build_effnet()
    fused = fuse_batchnorm(build_effnet())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(2, 3, 128, 128)
    with torch.inference_mode():
        assert torch.allclose(plain(x), fused(x), atol=1e-3)

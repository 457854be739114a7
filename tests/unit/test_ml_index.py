"""FAISS banks and the ReferenceIndex: search, counterfeit bank, atomic save/load, regions, flips."""
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.banks import PdqBank, VectorBank
from ml.detector import Detector
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.types import BrandInfo, ListingInput, ReferenceInfo, SellerInfo


@pytest.fixture(scope="session")
def models():
    return load_models()


def _logo(kind: str, size: int = 256) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    s = size
    if kind == "ring":
        d.ellipse((s * .15, s * .15, s * .85, s * .85), outline=(200, 0, 0), width=int(s * .1))
        d.polygon([(s * .5, s * .3), (s * .7, s * .7), (s * .3, s * .7)], fill=(0, 0, 0))
    elif kind == "bars":
        for i in range(4):
            d.rectangle((s * (.15 + .18 * i), s * .2, s * (.25 + .18 * i), s * .8), fill=(0, 60, 200))
    else:  # checker
        for i in range(4):
            for j in range(4):
                if (i + j) % 2:
                    d.rectangle((s * (.1 + .2 * i), s * (.1 + .2 * j), s * (.3 + .2 * i), s * (.3 + .2 * j)),
                                fill=(20, 150, 20))
    return im


def _photo(w=640, h=480, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(60, 200, w)[None, :, None] * np.array([0.6, 0.8, 1.0])[None, None, :]
    arr = np.clip(base.repeat(h, 0) + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr).filter(ImageFilter.GaussianBlur(3))


def _product(seed: int) -> Image.Image:
    im = _photo(480, 480, seed)
    d = ImageDraw.Draw(im)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        x, y = rng.integers(0, 400, 2)
        d.rectangle((x, y, x + rng.integers(30, 120), y + rng.integers(30, 120)), fill=tuple(rng.integers(0, 255, 3)))
    return im


@pytest.fixture(scope="module")
def index(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("refs")
    brands = [BrandInfo("ring", "Ringo"), BrandInfo("bars", "Barco"), BrandInfo("check", "Checkr")]
    refs = []
    for b, kind in zip(brands, ["ring", "bars", "checker"], strict=True):
        p = root / f"{b.brand_id}_logo.jpg"
        _logo(kind).save(p)
        refs.append(ReferenceInfo(f"{b.brand_id}-logo", b.brand_id, f"{b.name} logo", "", None, "USD", "logo", (str(p),)))
        p = root / f"{b.brand_id}_prod.jpg"
        _product(hash(b.brand_id) % 1000).save(p)
        refs.append(ReferenceInfo(f"{b.brand_id}-1", b.brand_id, f"{b.name} gadget", "A gadget.", 100.0, "USD",
                                  "product", (str(p),)))
    return ReferenceIndex.build(brands, refs, models, cache_dir=str(root / "cache"))


def test_vector_bank_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(10, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    bank = VectorBank(16)
    bank.add(v, [{"ref_id": f"r{i}"} for i in range(10)])
    s, ids = bank.search(v[3:4], 2)
    assert ids[0, 0] == 3 and s[0, 0] == pytest.approx(1.0, abs=1e-5)
    bank.save(str(tmp_path), "b")
    again = VectorBank.load(str(tmp_path), "b")
    assert np.array_equal(again.search(v, 3)[1], bank.search(v, 3)[1])
    again.keep(np.arange(10) != 3)
    assert again.search(v[3:4], 1)[1][0, 0] != 3 and len(again) == 9
    pb = PdqBank()
    pb.add(["00" * 32, "ff" * 32], [{"ref_id": "a"}, {"ref_id": "b"}])
    d, ids = pb.search(["00" * 31 + "0f"], 1)
    assert ids[0, 0] == 0 and d[0, 0] == 4


def test_index_counts_and_cache(index, models, tmp_path):
    assert index.counts["ref_image"] == 12  # 6 images + their mirror images
    assert index.counts["ref_text"] == 6 and index.counts["ref_pdq"] == 6
    cache = os.path.join(os.path.dirname(index.references["ring-logo"].image_paths[0]), "cache", models.version)
    assert len(os.listdir(cache)) == 6


def test_small_logo_in_photo_matches_logo_reference_via_regions(index, models, tmp_path):
    photo = _photo(480, 360, seed=5)
    photo.paste(_logo("ring", 200), (260, 20))  # a quarter of the photo, top right
    p = tmp_path / "lst.jpg"
    photo.save(p)
    det = Detector(models, index)
    res = det.extract([ListingInput("L1", SellerInfo("S"), "Cool cap", "Nice.", 10.0, "USD", (str(p),))])
    logo = res[0].evidence.logo
    best = max(logo.items(), key=lambda kv: kv[1][0])
    assert best[0] == "ring", logo
    x0, y0, x1, y1 = best[1][4]
    assert x1 > 0.5 and y0 < 0.5  # the matched region is in the top-right half


def test_flipped_copy_matches_its_reference(index, models, tmp_path):
    src = index.references["bars-1"].image_paths[0]
    flipped = Image.open(src).transpose(Image.FLIP_LEFT_RIGHT)
    p = tmp_path / "flip.jpg"
    flipped.save(p)
    det = Detector(models, index)
    res = det.extract([ListingInput("L2", SellerInfo("S"), "gadget", "", 30.0, "USD", (str(p),))])
    img = res[0].evidence.img
    assert max(img.items(), key=lambda kv: kv[1][0])[0] == "bars"
    assert img["bars"][0] > 0.95


def test_counterfeit_bank_and_atomic_save(index, models, tmp_path):
    idx = ReferenceIndex.load(_save(index, tmp_path / "a"))
    v = np.eye(1, 1280, 7, dtype=np.float32)
    idx.add_counterfeits([("LX", "ring", v, ["ab" * 32])])
    assert idx.counts["cf_image"] == 1 and idx.counts["cf_pdq"] == 1
    d = tmp_path / "a"
    old_version = ReferenceIndex.load(str(d)).version
    idx.save(str(d))
    back = ReferenceIndex.load(str(d))
    assert back.version == idx.version != old_version
    assert back.counts == idx.counts and back.cf_image.meta[0]["ref_id"] == "LX"
    s, ids = back.cf_image.search(v, 1)
    assert s[0, 0] == pytest.approx(1.0)
    back.remove_counterfeit("LX")
    assert back.counts["cf_image"] == 0 and back.counts["cf_pdq"] == 0
    # a crash mid-save leaves the previous index intact and no temp dirs behind
    broken = ReferenceIndex.load(str(d))
    broken.cf_pdq.save = lambda *a, **k: (_ for _ in ()).throw(OSError("disk full"))
    with pytest.raises(OSError):
        broken.save(str(d))
    assert ReferenceIndex.load(str(d)).counts["cf_image"] == 1
    assert sorted(os.listdir(tmp_path)) == ["a"]
    logo_rows = [n for n, m in enumerate(back.ref_image.meta) if m["ref_id"] == "ring-logo"]
    back.exclude_references({"ring-logo"})  # tombstones: never found again, dropped at the next save
    assert logo_rows and not back.rows_of("ref_image", "ring-logo") and set(logo_rows) <= back.ref_image.dead
    _, found = back.ref_image.search(back.ref_image.vectors[logo_rows], 5)
    assert not set(found.ravel().tolist()) & set(logo_rows)
    back.ref_image.compact()
    assert all(m["ref_id"] != "ring-logo" for m in back.ref_image.meta)


def _save(index, d):
    index.save(str(d))
    return str(d)

"""FAISS banks and the ReferenceIndex: search, counterfeit bank, atomic save/load, regions, flips,
reference deltas."""
import dataclasses
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.banks import PdqBank, VectorBank
from ml.detector import Detector
from ml.index import ReferenceIndex, embed_references
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


def _catalog(root) -> tuple[list[BrandInfo], list[ReferenceInfo]]:
    """Three brands, each with a logo reference and a product reference (one image each)."""
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
    return brands, refs


@pytest.fixture(scope="module")
def index(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("refs")
    brands, refs = _catalog(root)
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


# ---- reference deltas: embed_references + add_references / set_brands ---------------------------


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Brands and references split into A (ring, bars) and B (check), with an embedding cache of their own."""
    root = tmp_path_factory.mktemp("delta-refs")
    brands, refs = _catalog(root)
    return root, brands, refs


def _cache(catalog) -> str:
    return str(catalog[0] / "cache")


def _incremental(catalog, models) -> ReferenceIndex:
    """Built from A, then given B as a delta."""
    _root, brands, refs = catalog
    a_brands, b_brands = brands[:2], brands[2:]
    a_refs, b_refs = refs[:4], refs[4:]
    idx = ReferenceIndex.build(a_brands, a_refs, models, cache_dir=_cache(catalog))
    rows = embed_references(b_refs, models, cache_dir=_cache(catalog))
    idx.add_references(b_brands, b_refs, rows)
    return idx


def _hits(bank, queries, k: int) -> tuple[np.ndarray, list[list[tuple]]]:
    """Search results as (scores, [(ref_id, image, flip) per hit]), independent of row numbers."""
    scores, ids = bank.search(queries, k)
    return scores, [[(bank.meta[i]["ref_id"], bank.meta[i].get("image"), bank.meta[i].get("flip")) for i in row]
                    for row in ids]


def _assert_same_search(a: ReferenceIndex, b: ReferenceIndex) -> None:
    for name, queries in (("ref_image", b.ref_image.vectors), ("ref_text", b.ref_text.vectors)):
        sa, ha = _hits(getattr(a, name), queries, 8)
        sb, hb = _hits(getattr(b, name), queries, 8)
        assert ha == hb, name
        np.testing.assert_allclose(sa, sb, atol=1e-5, err_msg=name)
    da, ha = _hits(a.ref_pdq, b.ref_pdq.hashes, 8)
    db, hb = _hits(b.ref_pdq, b.ref_pdq.hashes, 8)
    assert ha == hb and np.array_equal(da, db)


def test_reference_delta_matches_a_full_build(catalog, models):
    _root, brands, refs = catalog
    full = ReferenceIndex.build(brands, refs, models, cache_dir=_cache(catalog))
    idx = _incremental(catalog, models)
    assert idx.counts == full.counts
    assert idx.counts["ref_image"] == 12 and idx.counts["ref_text"] == 6 and idx.counts["ref_pdq"] == 6
    assert idx.brands == full.brands and idx.references == full.references
    _assert_same_search(idx, full)
    assert idx.ref_image.meta == full.ref_image.meta and idx.ref_pdq.meta == full.ref_pdq.meta


def test_reference_rows_of_one_reference(catalog, models):
    _root, _brands, refs = catalog
    rows = embed_references(refs, models, cache_dir=_cache(catalog))
    one = rows.of_reference("bars-1")
    assert [m["ref_id"] for m in one.image_meta] == ["bars-1", "bars-1"]
    assert [m["flip"] for m in one.image_meta] == [False, True]
    assert one.image_vectors.shape == (2, models.image.dim) and one.image_vectors.dtype == np.float32
    assert len(one.pdq_hexes) == len(one.pdq_meta) == 1 and one.text_vectors.shape == (1, models.text.dim)
    n = [m["ref_id"] for m in rows.image_meta].index("bars-1")
    np.testing.assert_array_equal(one.image_vectors, rows.image_vectors[n:n + 2])
    assert rows.of_reference("nope").image_vectors.shape == (0, models.image.dim)


def test_unreadable_reference_image_is_reported(catalog, models, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    ref = ReferenceInfo("bad-1", "ring", "Ringo thing", "", None, "USD", "product", (str(bad), str(tmp_path / "gone.jpg")))
    errors: list[str] = []
    rows = embed_references([ref], models, errors=errors)
    assert len(errors) == 2 and errors[0].startswith("bad-1 image 1 (gone.jpg)")
    assert len(rows.image_meta) == 0 and len(rows.pdq_hexes) == 0 and len(rows.text_meta) == 1


def test_readding_a_reference_replaces_its_rows(catalog, models, tmp_path):
    idx = _incremental(catalog, models)
    before = idx.counts
    old_rows = {name: idx.rows_of(name, "ring-1") for name in ("ref_image", "ref_text", "ref_pdq")}
    old_vecs, old_hashes = idx.ref_image.vectors[old_rows["ref_image"]], [idx.ref_pdq.hashes[n] for n in old_rows["ref_pdq"]]
    p = tmp_path / "ring_new.jpg"
    _product(4242).save(p)
    new_ref = dataclasses.replace(idx.references["ring-1"], title="Ringo widget", image_paths=(str(p),))
    rows = embed_references([new_ref], models, cache_dir=_cache(catalog))
    idx.add_references([], [new_ref], rows)
    assert idx.counts == before and idx.references["ring-1"] == new_ref
    for name, rows_before in old_rows.items():
        now = idx.rows_of(name, "ring-1")
        assert len(now) == len(rows_before) and not set(now) & set(rows_before), name
        assert set(rows_before) <= getattr(idx, name).dead
    _, found = idx.ref_image.search(old_vecs, idx.ref_image.live)  # the old image is gone from every bank
    assert not set(found.ravel().tolist()) & set(old_rows["ref_image"])
    _, found = idx.ref_pdq.search(old_hashes, idx.ref_pdq.live)
    assert not set(found.ravel().tolist()) & set(old_rows["ref_pdq"])
    s, hits = _hits(idx.ref_image, rows.image_vectors, 1)  # the new one is found, as ring-1
    assert [h[0][0] for h in hits] == ["ring-1", "ring-1"] and np.allclose(s[:, 0], 1.0, atol=1e-5)
    d, hits = _hits(idx.ref_pdq, rows.pdq_hexes, 1)
    assert hits[0][0][0] == "ring-1" and d[0, 0] == 0
    s, hits = _hits(idx.ref_text, rows.text_vectors, 1)
    assert hits[0][0][0] == "ring-1" and s[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_excluded_reference_readded_is_found_again(catalog, models):
    idx = _incremental(catalog, models)
    before = idx.counts
    rows = embed_references([idx.references["bars-logo"]], models, cache_dir=_cache(catalog))
    idx.exclude_references({"bars-logo"})
    assert idx.counts["ref_image"] == before["ref_image"] - 2
    _, hits = _hits(idx.ref_image, rows.image_vectors, 12)
    assert all(h[0] != "bars-logo" for row in hits for h in row)
    version = idx.version
    idx.add_references([], [idx.references["bars-logo"]], rows)
    assert "bars-logo" not in idx.excluded and idx.counts == before and idx.version != version
    s, hits = _hits(idx.ref_image, rows.image_vectors, 1)
    assert [h[0][0] for h in hits] == ["bars-logo", "bars-logo"] and np.allclose(s[:, 0], 1.0, atol=1e-5)
    assert idx.ref_pdq.search(rows.pdq_hexes, 1)[0][0, 0] == 0
    assert "bars" in idx.brand_msrp_median()  # bars-1 still counts; bars-logo has no msrp


def test_bad_delta_leaves_the_index_unchanged(catalog, models):
    idx = _incremental(catalog, models)
    before, version = idx.counts, idx.version
    rows = embed_references(list(idx.references.values()), models, cache_dir=_cache(catalog))
    with pytest.raises(ValueError, match="not given"):
        idx.add_references([], [idx.references["ring-1"]], rows)  # rows of other references too
    assert idx.counts == before and idx.version == version and not idx.ref_image.dead


def test_set_brands_upserts_profiles_without_touching_banks(catalog, models):
    idx = _incremental(catalog, models)
    before, version = idx.counts, idx.version
    idx.set_brands([BrandInfo("ring", "Ringo", ("rngo", "ringoo"), ("RINGO",)), BrandInfo("zed", "Zed Co")])
    by_id = {b.brand_id: b for b in idx.brands}
    assert [b.brand_id for b in idx.brands] == ["ring", "bars", "check", "zed"]
    assert by_id["ring"].aliases == ("rngo", "ringoo") and by_id["ring"].protected_terms == ("RINGO",)
    assert by_id["bars"] == BrandInfo("bars", "Barco")
    assert idx.counts == {**before, "brands": before["brands"] + 1} and idx.version != version
    assert not idx.ref_image.dead and not idx.ref_text.dead and not idx.ref_pdq.dead


def test_reference_delta_survives_save_and_load(catalog, models, tmp_path):
    idx = _incremental(catalog, models)
    p = tmp_path / "check_new.jpg"
    _product(777).save(p)
    new_ref = dataclasses.replace(idx.references["check-1"], image_paths=(str(p),))
    _product(778).save(tmp_path / "check_bag.jpg")
    extra = ReferenceInfo("check-2", "check", "Checkr bag", "A bag.", 250.0, "USD", "product",
                          (str(tmp_path / "check_bag.jpg"),))
    rows = embed_references([new_ref, extra], models, cache_dir=_cache(catalog))
    idx.add_references([BrandInfo("check", "Checkr", ("chekr",))], [new_ref, extra], rows)
    idx.save(str(tmp_path / "idx"))  # compacts: the replaced rows are dropped
    back = ReferenceIndex.load(str(tmp_path / "idx"))
    assert back.counts == idx.counts and back.counts["references"] == 7 and back.counts["ref_image"] == 14
    assert back.references == idx.references and back.references["check-1"] == new_ref
    assert back.brands == idx.brands and {b.brand_id: b for b in back.brands}["check"].aliases == ("chekr",)
    assert back.version == idx.version and not back.ref_image.dead
    _assert_same_search(back, idx)
    _, hits = _hits(back.ref_text, rows.text_vectors, 1)
    assert [h[0][0] for h in hits] == ["check-1", "check-2"]

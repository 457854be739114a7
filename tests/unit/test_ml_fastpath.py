"""Issue #7 fast path: the vectorised / table-driven code computes exactly what the plain loops did."""
import numpy as np
import pytest
import torch
from PIL import Image
from rapidfuzz.distance import OSA

from ml.brands import BrandMatcher
from ml.config import EmbedderConfig
from ml.image_embedder import ImageEmbedder
from ml.images import image_map, square_pixels
from ml.index import BankArrays, ReferenceIndex
from ml.types import BrandInfo


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    ims = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in ((300, 410), (256, 256))]
    return ims + [Image.fromarray(rng.integers(0, 256, (90, 120), dtype=np.uint8))]  # grey: converted


def test_preprocess_is_bit_identical_to_the_float_formula():
    cfg = EmbedderConfig()
    emb = ImageEmbedder(torch.nn.Identity(), cfg)
    ims = _images()
    s = cfg.input_size
    arr = np.stack([square_pixels(im, s) for im in ims])
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
    expected = (x - torch.tensor(cfg.mean).view(1, 3, 1, 1)) / torch.tensor(cfg.std).view(1, 3, 1, 1)
    got = emb.preprocess(ims)
    assert got.shape == expected.shape and got.is_contiguous()
    assert torch.equal(got, expected)


def test_square_pixels_is_pil_bilinear_within_rounding():
    """The torchvision resize kernel stands in for PIL's BILINEAR (~2x faster): same picture, rounding apart."""
    for im in _images():
        got = square_pixels(im, 256)
        want = np.asarray(im.convert("RGB").resize((256, 256), Image.BILINEAR), np.int16)
        assert got.shape == (256, 256, 3) and got.dtype == np.uint8 and got.flags.c_contiguous
        assert np.abs(got.astype(np.int16) - want).max() <= 2


def _factored(cells: np.ndarray, grid: int = 3):
    """RegionVectors over a (G, grid*grid, D) cell array with the embedder's pooling (windows of 2 and 3 cells)."""
    from ml.image_embedder import RegionVectors, _pool_matrix

    cells_t = torch.from_numpy(cells)
    pool = torch.from_numpy(_pool_matrix(grid, (2, 3), 1))
    norms = torch.linalg.vector_norm(torch.matmul(pool, cells_t), dim=-1)
    return RegionVectors(cells_t, pool, norms)


def test_best_of_windows_finds_each_rows_best_window_and_scores_repair_bf16(monkeypatch):
    """The flat-bank region search scores cells and averages per window: every row's best window per image,
    as brute force over the materialised windows finds it."""
    from ml.banks import VectorBank
    from ml.vectors import l2_normalize

    rng = np.random.default_rng(7)
    bank = VectorBank(64)
    refs = l2_normalize(rng.standard_normal((40, 64)).astype(np.float32))
    bank.add(refs, [{"ref_id": str(i)} for i in range(40)])
    cells = np.abs(rng.standard_normal((3, 9, 64))).astype(np.float32)  # post-activation features are >= 0
    cells[1, [0, 1, 3, 4]] = 5 * refs[17]  # window 0 of image 1 (the top-left 2x2 cells) is row 17, exactly
    regs = _factored(cells)
    assert regs.shape == (3, 5, 64)  # 4 windows of 2x2 cells + 1 of 3x3
    dense = regs.dense()
    np.testing.assert_allclose(np.linalg.norm(dense, axis=-1), 1.0, rtol=1e-5)
    best, window = bank.best_of_windows(regs)
    brute = np.einsum("gwd,nd->gwn", dense, refs)
    assert best.shape == window.shape == (3, 40)
    np.testing.assert_allclose(best, brute.max(axis=1), atol=0.02)  # bf16 products on bf16 hardware
    assert window[1, 17] == 0 and best[1, 17] > 0.98
    from ml.image_embedder import RegionVectors

    monkeypatch.setattr(RegionVectors, "COLUMN_CHUNK", 7)  # a big bank is scored a slice of rows at a time
    chunked, chunked_window = bank.best_of_windows(regs)
    np.testing.assert_allclose(chunked, best, atol=1e-6)
    assert (chunked_window == window).all()
    # the pairs a search keeps are re-scored exactly in fp32, from the cells, in any order of images
    exact = regs.scores(np.array([1, 2, 1]), np.array([0, 4, 3]), refs[[17, 3, 5]])
    np.testing.assert_allclose(exact, [1.0, float(dense[2, 4] @ refs[3]), float(dense[1, 3] @ refs[5])], rtol=1e-5)


def test_region_vectors_are_avg_pooled_windows_in_box_order():
    cfg = EmbedderConfig()
    emb = ImageEmbedder(torch.nn.Identity(), cfg)
    fmap = torch.relu(torch.randn(3, 16, emb.grid, emb.grid))
    emb._features = lambda x: fmap  # the network's feature map, whatever the input
    squares = np.zeros((3, cfg.input_size, cfg.input_size, 3), np.uint8)
    glob, regs = emb.embed_squares(squares)
    pooled = torch.cat([torch.nn.functional.avg_pool2d(fmap, k, cfg.region_stride).flatten(2)
                        for k in cfg.region_windows], dim=2).transpose(1, 2)
    want = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    assert regs.shape == (3, len(emb.boxes), 16)
    np.testing.assert_allclose(regs, want, atol=1e-5)
    np.testing.assert_allclose(glob, torch.nn.functional.normalize(fmap.mean(dim=(2, 3)), dim=-1).numpy(), atol=1e-5)
    # box r covers exactly the cells averaged in row r
    x0, y0, x1, y1 = (emb.boxes[7] * emb.grid).round().astype(int)
    np.testing.assert_allclose(regs[:, 7], torch.nn.functional.normalize(
        fmap[:, :, y0:y1, x0:x1].mean(dim=(2, 3)), dim=-1).numpy(), atol=1e-5)
    # factored: the norms are the pooled windows' lengths, and single windows score as the same vectors do
    _, fac = emb.embed_factored(squares)
    np.testing.assert_allclose(fac.norms.numpy(), torch.linalg.vector_norm(pooled, dim=-1).numpy(), rtol=1e-4)
    column = np.abs(np.random.default_rng(1).standard_normal((2, 16))).astype(np.float32)
    np.testing.assert_allclose(fac.scores(np.array([2, 0]), np.array([7, 100]), column),
                               np.einsum("kd,kd->k", want[[2, 0], [7, 100]], column), rtol=1e-4)


class _CellMeans(torch.nn.Module):
    """A stand-in network whose feature cells are the input's 32x32 block means (3 channels)."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x, 32)


def test_tile_vectors_are_the_half_size_blocks_of_one_pass_row_by_row():
    from ml.vectors import l2_normalize

    emb = ImageEmbedder(_CellMeans(), EmbedderConfig(dim=3, region_windows=(1, 2)))
    ims = _images()
    glob, regs = emb.embed_tiles(ims, 3, 128)  # 4x4 cells; tiles of 2x2 at offsets 0, 1, 2
    fmap = torch.nn.functional.avg_pool2d(emb.normalise(emb.squares(ims, 128)), 32)
    blocks = [fmap[:, :, y:y + 2, x:x + 2] for y in range(3) for x in range(3)]
    want = torch.stack(blocks, dim=1).flatten(0, 1)  # image by image, tiles row by row
    assert glob.shape == (len(ims) * 9, 3) and regs.shape == (len(ims) * 9, 5, 3)  # 4 single cells + the whole
    np.testing.assert_allclose(glob, l2_normalize(want.mean(dim=(2, 3)).numpy()), atol=1e-6)
    np.testing.assert_allclose(regs.cells.numpy(), want.flatten(2).transpose(1, 2).numpy(), atol=1e-7)
    np.testing.assert_allclose(regs.dense()[:, -1], glob, atol=1e-6)  # the 2x2 window is the whole tile
    with pytest.raises(ValueError, match="multiple of 64"):
        emb.embed_tiles(ims, 3, 96)


def test_image_map_keeps_order_and_raises_like_a_loop():
    assert image_map(lambda v: v * v, range(50)) == [v * v for v in range(50)]

    def boom(v: int) -> int:
        if v == 7:
            raise ValueError("item 7")
        return v

    with pytest.raises(ValueError, match="item 7"):
        image_map(boom, range(10))


def _slow_find(matcher: BrandMatcher, text: str, field: str = "title"):
    """The term-by-term scan ``find`` replaced (kept here as the reference behaviour)."""
    from ml.brands import COMPATIBLE_CUES, Mention, _fuzzy_allowed, _max_distance
    from ml.textnorm import tokens

    toks = tokens(text)
    windows = {}
    for n in {t.n_words + d for t in matcher.terms for d in (-1, 0, 1)}:
        if n >= 1:
            windows[n] = [(i, tuple({"".join(t[1] for t in toks[i:i + n]), "".join(t[2] for t in toks[i:i + n])}))
                          for i in range(0, len(toks) - n + 1)]
    best = {}
    for term in matcher.terms:
        maxd = _max_distance(term.norm)
        lo, hi = len(term.norm) - maxd, len(term.norm) + maxd
        for n in {term.n_words, term.n_words + 1, max(1, term.n_words - 1)}:
            for i, cands in windows.get(n, ()):
                ok = [c for c in cands if lo <= len(c) <= hi]
                if not ok:
                    continue
                d = min(OSA.distance(c, term.norm, score_cutoff=maxd + 1) for c in ok)
                if d > maxd:
                    continue
                found = " ".join(t[0] for t in toks[i:i + n])
                if d > 0 and not _fuzzy_allowed(toks[i:i + n], term):
                    continue
                if d == 0 and n != term.n_words and len(term.norm) <= 3:
                    continue
                prev = {t[1] for t in toks[max(0, i - 4):i]}
                m = Mention(term.brand_id, term.text, found, int(d), term.kind, field, bool(prev & set(COMPATIBLE_CUES)),
                            term.weight)
                key = (term.brand_id, term.text)
                if key not in best or m.distance < best[key].distance:
                    best[key] = m
    return sorted(best.values(), key=lambda m: (m.distance, m.kind != "name"))


BRANDS = [
    BrandInfo("nike", "Nike", ("Nike Inc",), ("Air Jordan", "Swoosh")),
    BrandInfo("lv", "Louis Vuitton", ("LV",), ("Monogram Canvas",)),
    BrandInfo("hp", "HP", (), ("LaserJet",)),
    BrandInfo("samsung", "Samsung", (), ("Galaxy Buds", "Galaxy")),
    BrandInfo("ln", "Li-Ning", ("Li Ning",), ()),
]
TEXTS = [
    "N1KE Air Jordn retro sneakers", "Louis Vuiton monogram canvas bag", "l o u i s v u i t t o n wallet",
    "compatible with HP LaserJet toner", "Samsvng Galaxy Buds case, fits galaxy", "Li Ning badminton racket",
    "nice bike, like new", "", "   ", "Swoosh!!! Nikee shoes for Nike Inc fans", "ＮＩＫＥ shoes",
    "replacement for samsung galaxy buds pro", "LV LV lv", "Louis Vuitton Louis Vuitton",
]


@pytest.mark.parametrize("text", TEXTS)
def test_brand_matcher_matrix_scan_equals_term_by_term_scan(text):
    m = BrandMatcher(BRANDS)
    assert m.find(text, "description") == _slow_find(m, text, "description")


def test_bank_arrays_follow_bank_changes():
    idx = ReferenceIndex([], [], image_dim=4, text_dim=4, model_version="t")
    v = np.eye(4, dtype=np.float32)
    idx.ref_image.add(v[:3], [{"ref_id": f"r{i}", "brand_id": b, "image": i, "kind": k}
                              for i, (b, k) in enumerate((("a", "product"), ("b", "logo"), ("a", "other")))])
    a = idx.arrays("ref_image")
    assert isinstance(a, BankArrays) and idx.arrays("ref_image") is a  # cached while unchanged
    assert [a.brand_ids[c] for c in a.brand] == ["a", "b", "a"]
    assert a.kind.tolist() == [0, 1, 2] and a.image.tolist() == [0, 1, 2] and a.ref_ids == ["r0", "r1", "r2"]
    idx.ref_image.add(v[3:], [{"ref_id": "r3", "brand_id": "c", "image": 5, "kind": "product"}])
    a2 = idx.arrays("ref_image")
    assert a2.ref_ids[-1] == "r3" and a2.brand_ids[a2.brand[-1]] == "c"
    idx.exclude_references({"r1"})  # a tombstone: rows keep their numbers, r1 is never found again
    assert idx.arrays("ref_image").ref_ids == ["r0", "r1", "r2", "r3"] and idx.ref_image.dead == {1}
    assert 1 not in idx.ref_image.search(v[1:2], 4)[1][0].tolist()
    idx.ref_image.compact()
    assert idx.arrays("ref_image").ref_ids == ["r0", "r2", "r3"]

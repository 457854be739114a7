"""The small-logo verifier (ml/logo_verify.py) on hand-made cases, and how the follow-up scan uses it.

A logo printed without its white box, slightly rotated and JPEG-compressed on a busy background must
verify; a shape of the same colour must not. Logo drawings and backgrounds are the issue #3 test's.
"""
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.config import DetectorConfig, LogoVerifyConfig
from ml.detector import Detector
from ml.logo_verify import LogoVerifier, colour_map, make_template, match_template, work_image
from ml.models import load_models
from ml.types import ListingInput, SellerInfo
from tests.unit.logo_drawings import BRANDS, background, draw_logo, logo_bank

CFG = LogoVerifyConfig()


def _cutout(kind: str, side: int, angle: float) -> Image.Image:
    """The logo alone (its white box made transparent), rotated."""
    a = np.asarray(draw_logo(kind, side).convert("RGBA")).copy()
    a[..., 3] = np.where(a[..., :3].min(axis=2) > 235, 0, 255)
    return Image.fromarray(a).rotate(angle, resample=Image.BICUBIC, expand=True)


def _jpeg(im: Image.Image, quality: int = 60) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(buf).convert("RGB")


def _paste(bg: Image.Image, fg: Image.Image, pos: tuple[float, float]) -> tuple[Image.Image, tuple]:
    out = bg.copy()
    x, y = int(pos[0] * (bg.width - fg.width)), int(pos[1] * (bg.height - fg.height))
    out.paste(fg, (x, y), fg)
    return out, (x / bg.width, y / bg.height, (x + fg.width) / bg.width, (y + fg.height) / bg.height)


def _overlap(a: tuple, b: tuple) -> float:
    """Intersection over the smaller box."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


@pytest.mark.parametrize("kind", ["star", "cross"])
@pytest.mark.parametrize("frac,angle,pos", [(0.04, 5.0, (0.2, 0.3)), (0.07, -4.0, (0.9, 0.8)),
                                            (0.10, 0.0, (0.5, 0.1))])
def test_logo_without_its_box_on_a_busy_background_verifies(kind, frac, angle, pos):
    """Solid logos. A logo with enclosed white areas (the ring) shows the background through them when printed
    without its box, which costs score: the ring at 10% of this photo scores ~0.75, verified with no margin."""
    bg = background("busy", 7)
    side = int(round((frac * bg.width * bg.height) ** 0.5))
    photo, where = _paste(bg, _cutout(kind, side, angle), pos)
    lab = work_image(_jpeg(photo), CFG)
    scores = {k: match_template(lab, make_template(draw_logo(k), CFG), CFG) for k in BRANDS}
    ncc, box = scores[kind]
    assert ncc >= CFG.min_ncc + 0.05, scores
    assert _overlap(box, where) > 0.5, (box, where)
    assert all(v[0] < CFG.min_ncc - 0.2 for k, v in scores.items() if k != kind), scores


def test_a_shape_of_the_logo_colours_is_not_the_logo():
    """Discs and squares in the star's orange and the cross's magenta, at logo size: no match."""
    star, cross = make_template(draw_logo("star"), CFG), make_template(draw_logo("cross"), CFG)
    for seed, bg_kind in ((3, "busy"), (4, "smooth")):
        photo = background(bg_kind, seed)
        d = ImageDraw.Draw(photo)
        d.ellipse((60, 60, 200, 200), fill=(230, 160, 0))  # star colour
        d.rectangle((380, 250, 520, 390), fill=(180, 0, 120))  # cross colour
        d.polygon([(300, 40), (360, 150), (240, 150)], fill=(230, 160, 0))
        lab = work_image(_jpeg(photo, 85), CFG)
        for t in (star, cross):
            assert match_template(lab, t, CFG)[0] < CFG.min_ncc - 0.15


def test_colour_map_is_the_formula_bit_for_bit():
    rng = np.random.default_rng(1)
    lab = work_image(background("busy", 5, 300, 220), CFG)
    for k in (1, 3):
        palette = (rng.random((k, 3)) * 255).astype(np.float32)
        d2 = np.min([((lab - c) ** 2).sum(axis=2) for c in palette], axis=0)
        want = np.exp(-d2 / (CFG.colour_sigma ** 2)).astype(np.float32)
        got = colour_map(lab, palette, CFG.colour_sigma)
        assert got.dtype == np.float32 and np.array_equal(got, want)
    assert colour_map(lab, lab[:1, 0], CFG.colour_sigma)[0, 0] == 1.0  # a pixel of the logo colour itself


def test_template_needs_a_shape():
    assert make_template(Image.new("RGB", (200, 200), "white"), CFG) is None
    t = make_template(draw_logo("ring"), CFG)
    assert t is not None and max(t.shape.shape) == CFG.template_side
    assert len(t.palette) == 2  # red ring, black triangle


@pytest.fixture(scope="module")
def logo_index(tmp_path_factory):
    models = load_models()
    root = tmp_path_factory.mktemp("logo-verify")
    return models, logo_bank(root, models), root


def test_verifier_finds_the_logo_and_loads_templates_once(logo_index, monkeypatch):
    models, index, _ = logo_index
    v = LogoVerifier(models, index)
    assert v.available
    photo, where = _paste(background("busy", 11), _cutout("cross", 130, 3.0), (0.7, 0.4))
    empty = _jpeg(background("busy", 12))
    hits = v.verify([_jpeg(photo), empty])
    assert [h.ref_id for h in hits[0]] == ["cross-logo"] and hits[1] == []
    assert _overlap(hits[0][0].box, where) > 0.5
    assert v.to_sim(CFG.min_ncc) == pytest.approx(CFG.sim_at_min)
    assert v.to_sim(1.0) == pytest.approx(CFG.sim_at_one)
    monkeypatch.setattr("ml.logo_verify.load_image", lambda *a, **k: pytest.fail("template loaded twice"))
    assert v.verify([_jpeg(photo)])[0][0].ref_id == "cross-logo"


def _listing(root, key: str, im: Image.Image, title: str = "Item") -> ListingInput:
    p = root / f"{key}.jpg"
    im.save(p, quality=90)
    return ListingInput(key, SellerInfo("S"), title, "For sale.", 10.0, "USD", (str(p),))


def test_only_the_follow_up_scan_runs_the_stage(logo_index, monkeypatch):
    models, index, root = logo_index
    photo, _ = _paste(background("smooth", 5), _cutout("star", 140, 0.0), (0.3, 0.6))
    lst = _listing(root, "fast-vs-full", photo)
    det = Detector(models, index)
    calls = []
    real = det.logo_verifier.verify
    monkeypatch.setattr(det.logo_verifier, "verify", lambda ims: calls.append(len(ims)) or real(ims))
    fast = det.scan([lst], ocr=False)[0]
    assert calls == [] and fast.brand_id is None and fast.followup_pending
    full = det.scan([lst], ocr=True)[0]
    assert calls == [1] and full.brand_id == "star" and not full.followup_pending
    assert any(x.startswith("logo region matched Starco reference star-logo") for x in full.explanation)
    m = [m for m in full.matches if m.kind == "region" and m.brand_id == "star"]
    assert m and m[0].box is not None and m[0].listing_image == 0
    # Text that names a brand: the stage cannot matter, so it neither runs nor leaves a follow-up.
    named = _listing(root, "named", photo, title="Crosso item")
    assert not det.scan([named], ocr=False)[0].followup_pending
    det.scan([named], ocr=True)
    assert calls == [1]


def test_follow_up_pending_without_ocr_only_when_the_logo_stage_can_run(logo_index, monkeypatch):
    models, index, root = logo_index
    lst = _listing(root, "pending", background("busy", 21))
    monkeypatch.setattr("ml.detector.ocr_available", lambda *_: False)
    assert Detector(models, index).scan([lst], ocr=False)[0].followup_pending
    off = dataclasses.replace(DetectorConfig(), logo=dataclasses.replace(CFG, enabled=False))
    assert not Detector(models, index, config=off).scan([lst], ocr=False)[0].followup_pending


def test_verifier_matches_candidates_side_by_side_with_the_results_of_one_by_one(logo_index):
    """``verify`` matches all (image, template) pairs on a thread pool: the same hits, boxes and order as
    matching each image's candidates in turn (every candidate kept: no score floor), scores to float rounding
    (OpenCV sums a correlation in another order when it runs on a pool thread)."""
    models, index, _ = logo_index
    v = LogoVerifier(models, index, dataclasses.replace(CFG, min_ncc=-1.0))
    photos = [_jpeg(_paste(background("busy", 20 + n), _cutout(kind, 110, 2.0), (0.3 * n, 0.5))[0])
              for n, kind in enumerate(["cross", "star", "cross"])] + [_jpeg(background("smooth", 9))]
    expected = []
    for im, refs in zip(photos, v.candidates(photos), strict=True):
        lab, hits = work_image(im, v.config), []
        for ref_id in refs:
            scored = [(match_template(lab, v.template(ref_id, i), v.config), i)
                      for i in range(min(len(index.references[ref_id].image_paths), v.config.max_ref_images))
                      if v.template(ref_id, i) is not None]
            if scored:
                (ncc, box), i = max(scored, key=lambda s: s[0][0])
                hits.append((ref_id, i, ncc, box))
        expected.append(sorted(hits, key=lambda h: -h[2]))
    got = [[(h.ref_id, h.image, h.ncc, h.box) for h in hits] for hits in v.verify(photos)]
    assert [[(r, i, b) for r, i, _, b in hits] for hits in got] == [[(r, i, b) for r, i, _, b in hits]
                                                                    for hits in expected]
    assert [[n for _, _, n, _ in hits] for hits in got] == [[pytest.approx(n, abs=1e-6) for _, _, n, _ in hits]
                                                            for hits in expected]
    assert sum(map(len, got)) >= len(photos)

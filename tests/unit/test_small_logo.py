"""Issue #3: a SMALL logo (5-8% of the photo) must match its logo reference; other logos / none must not.

Hand-made cases: three drawn logos in the reference bank, each pasted at ~6% of the photo area at
several positions on a smooth and on a busy background; negatives are the same backgrounds with no
logo and with a logo that is not in the bank. "Matches" means what a moderator sees: the detector's
explanation says "logo region matched <Brand>" (its own threshold, DetectorConfig/explanation).

Pooled EfficientNet-Lite0 region vectors alone (256 px, a 448 px pass, 2x2 / 3x3 tiles) did not separate a
5-8% logo from busy backgrounds at one threshold. The follow-up scan's small-logo stage (ml/logo_verify.py)
does: tile vectors pick candidate logo references, a colour-shape template match verifies them. ``scan``
defaults to ``ocr=True``, the follow-up path; the fast path (``ocr=False``) leaves such listings pending.
"""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.detector import Detector
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.types import BrandInfo, ListingInput, ReferenceInfo, SellerInfo
from tests.conftest import FAKEBENCH

BRANDS = {"ring": "Ringo", "star": "Starco", "cross": "Crosso"}


def _logo(kind: str, s: int = 256) -> Image.Image:
    im = Image.new("RGB", (s, s), "white")
    d = ImageDraw.Draw(im)
    if kind == "ring":
        d.ellipse((s * .15, s * .15, s * .85, s * .85), outline=(200, 0, 0), width=int(s * .1))
        d.polygon([(s * .5, s * .3), (s * .7, s * .7), (s * .3, s * .7)], fill=(0, 0, 0))
    elif kind == "star":
        pts = [(s * .5 + s * .4 * np.cos(a) * (1 if k % 2 == 0 else .45),
                s * .5 + s * .4 * np.sin(a) * (1 if k % 2 == 0 else .45))
               for k, a in enumerate(np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:-1])]
        d.polygon(pts, fill=(230, 160, 0))
    elif kind == "cross":
        d.rectangle((s * .4, s * .1, s * .6, s * .9), fill=(180, 0, 120))
        d.rectangle((s * .1, s * .4, s * .9, s * .6), fill=(180, 0, 120))
    else:  # "bars": a logo that is not in the bank
        for i in range(4):
            d.rectangle((s * (.15 + .18 * i), s * .2, s * (.25 + .18 * i), s * .8), fill=(0, 60, 200))
    return im


def _background(kind: str, seed: int, w: int = 640, h: int = 480) -> Image.Image:
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        base = np.linspace(60, 200, w)[None, :, None] * np.array([0.6, 0.8, 1.0])[None, None, :]
        arr = np.clip(base.repeat(h, 0) + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr).filter(ImageFilter.GaussianBlur(3))
    im = Image.fromarray((rng.random((h // 16, w // 16, 3)) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    d = ImageDraw.Draw(im)
    for _ in range(20):  # busy: shapes and lines in random colours
        x, y, sz = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(20, 110))
        d.rectangle((x, y, x + sz, y + sz // 2), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return im


def _with_logo(bg: Image.Image, kind: str, frac: float, pos: tuple[float, float]) -> Image.Image:
    """Paste a logo covering ``frac`` of the photo area with its top-left at ``pos`` (fractions)."""
    side = int(round((frac * bg.width * bg.height) ** 0.5))
    out = bg.copy()
    out.paste(_logo(kind, side), (int(pos[0] * (bg.width - side)), int(pos[1] * (bg.height - side))))
    return out


def logo_bank(root, models) -> ReferenceIndex:
    """An index of the three drawn logos (files written under ``root``), one logo reference per brand."""
    refs = []
    for kind, name in BRANDS.items():
        p = root / f"{kind}.png"
        _logo(kind).save(p)
        refs.append(ReferenceInfo(f"{kind}-logo", kind, f"{name} logo", "", None, "USD", "logo", (str(p),)))
    return ReferenceIndex.build([BrandInfo(k, n) for k, n in BRANDS.items()], refs, models)


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    models = load_models()
    root = tmp_path_factory.mktemp("small-logo")
    return Detector(models, logo_bank(root, models)), root


def _logo_lines(det: Detector, root, images: dict[str, Image.Image]) -> dict[str, list[str]]:
    listings = []
    for key, im in images.items():
        p = root / f"{key}.jpg"
        im.save(p, quality=92)
        listings.append(ListingInput(key, SellerInfo("S"), "Item", "For sale.", 10.0, "USD", (str(p),)))
    return {d.listing_id: [x for x in d.explanation if x.startswith("logo region matched")]
            for d in det.scan(listings)}


POSITIONS = [(0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (0.0, 1.0), (1.0, 1.0), (0.3, 0.7)]


def test_small_logo_matches_its_reference_and_nothing_else(detector):
    det, root = detector
    cases, want = {}, {}
    for b, kind in enumerate(BRANDS):
        for n, pos in enumerate(POSITIONS):
            bg = ("smooth", "busy")[n % 2]
            frac = (0.05, 0.065, 0.08)[n % 3]
            key = f"{kind}-{n}"
            cases[key] = _with_logo(_background(bg, 10 * b + n), kind, frac, pos)
            want[key] = BRANDS[kind]
    for n in range(4):
        bg = ("smooth", "busy")[n % 2]
        cases[f"none-{n}"] = _background(bg, 100 + n)
        cases[f"other-{n}"] = _with_logo(_background(bg, 200 + n), "bars", 0.065, POSITIONS[n])
    lines = _logo_lines(det, root, cases)
    missed = [k for k, brand in want.items() if not any(f"matched {brand} " in x for x in lines[k])]
    false = {k: v for k, v in lines.items() if k not in want and v}
    assert not missed and not false, f"missed {missed}; false matches {false}"


@pytest.mark.bench
@pytest.mark.skipif(not (FAKEBENCH / "labels.jsonl").exists(), reason="../shared/fakebench (dev split) is absent")
def test_fakebench_logos_pasted_small_are_found_and_nothing_else(tmp_path):
    """The 30 fakebench logo references, each pasted at 5-8% into 2 unbranded photos (``ml.cli.eval_small_logos``).

    With the tiles cut out of the photo and embedded one by one the candidates held the right reference in
    55% of the photos; from one 640 px pass (``ImageEmbedder.embed_tiles``) in 63%, and the verified hits
    went from 42% to 48%. No photo without a pasted logo (110) and no pasted one gets another brand's hit.
    """
    from ml.cli.eval_small_logos import evaluate_small_logos

    f = evaluate_small_logos(str(FAKEBENCH), cache_dir=str(tmp_path / "emb"))
    print(f)
    assert f.cases == 60 and f.negatives > 100
    assert f.candidate_recall >= 0.6 and f.found >= 0.45
    assert f.wrong_brand == 0 and f.negatives_hit == 0

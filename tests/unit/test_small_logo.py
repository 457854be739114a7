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
import pytest
from PIL import Image

from ml.detector import Detector
from ml.models import load_models
from ml.types import ListingInput, SellerInfo
from tests.support import FAKEBENCH
from tests.unit.logo_drawings import BRANDS, background, logo_bank, with_logo


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
            cases[key] = with_logo(background(bg, 10 * b + n), kind, frac, pos)
            want[key] = BRANDS[kind]
    for n in range(4):
        bg = ("smooth", "busy")[n % 2]
        cases[f"none-{n}"] = background(bg, 100 + n)
        cases[f"other-{n}"] = with_logo(background(bg, 200 + n), "bars", 0.065, POSITIONS[n])
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

"""Detector end to end on a tiny catalog; scorer train/save/load; a bad image never sinks a scan."""
import numpy as np
import pytest
from PIL import Image

from ml.brands import Mention
from ml.detector import Detector, Evidence, attribute_brand
from ml.index import ReferenceIndex
from ml.models import load_models
from ml.scorer import Scorer
from ml.types import BrandInfo, ListingInput, ReferenceInfo, ScanResult, SellerInfo


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    models = load_models()
    root = tmp_path_factory.mktemp("cat")
    rng = np.random.default_rng(1)
    arr = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    ref = root / "ref.jpg"
    Image.fromarray(arr).resize((320, 320), Image.NEAREST).save(ref)
    brands = [BrandInfo("acme", "Acme", ("Acme Corp",), ("RoadRunner",))]
    refs = [ReferenceInfo("acme-1", "acme", "Acme RoadRunner Trap", "The classic trap.", 200.0, "USD", "product",
                          (str(ref),))]
    index = ReferenceIndex.build(brands, refs, models)
    return models, index, root, ref


def test_scan_reports_bad_image_and_scores_the_rest(setup):
    models, index, root, ref = setup
    bad = root / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    seller = SellerInfo("S9", account_age_days=3, prior_takedowns=2)
    fake = ListingInput("L1", seller, "Acme RoadRuner Trap 1:1 replica", "AAA quality", 20.0, "USD",
                        (str(bad), str(ref)))
    plain = ListingInput("L2", SellerInfo("S1"), "Garden hose 20m", "Green hose.", 15.0, "USD", ())
    det = Detector(models, index)
    out = det.scan([fake, plain])
    assert [type(d) for d in out] == [ScanResult, ScanResult]
    d = out[0]
    assert d.errors and d.errors[0].startswith("image 1 (bad.jpg): not a valid image")
    assert d.image_vectors.shape == (1, 1280) and len(d.pdq_hashes) == 1 and len(d.pdq_hashes[0]) == 64
    assert d.brand_id == "acme"
    assert any(m.kind == "pdq" and m.ref_id == "acme-1" for m in d.matches)
    text = "\n".join(d.explanation)
    assert "price 10% of MSRP" in text and "seller not authorized for Acme" in text
    assert "edit distance 1" in text and "evasion wording" in text
    assert out[1].brand_id is None and out[1].score < d.score
    assert 0.0 <= out[1].score <= 1.0


def test_confirmed_counterfeit_bank_feeds_back(setup, tmp_path):
    models, index, root, ref = setup
    other = tmp_path / "o.jpg"
    Image.fromarray((np.random.default_rng(7).random((32, 32, 3)) * 255).astype(np.uint8)).resize((300, 300)).save(other)
    det = Detector(models, index)
    lst = ListingInput("L3", SellerInfo("S2"), "thing", "", 5.0, "USD", (str(other),))
    first = det.scan([lst])[0]
    idx = ReferenceIndex.load(_saved(index, tmp_path / "ix"))
    idx.add_counterfeits([("L3", "acme", first.image_vectors, first.pdq_hashes)])
    second = Detector(models, idx).scan([lst])[0]
    assert second.signals["cf_sim"] > 0.99 and second.signals["cf_pdq_match"] == 1.0
    assert any(m.kind == "counterfeit" and m.ref_id == "L3" for m in second.matches)


def _saved(index, d):
    index.save(str(d))
    return str(d)


def test_scorer_train_save_load(tmp_path):
    rng = np.random.default_rng(0)
    feats, labels = [], []
    for _ in range(200):
        y = int(rng.random() < 0.4)
        feats.append({"img_sim": float(rng.normal(0.8 if y else 0.4, 0.1)), "seller_authorized": float(rng.random() < 0.3)})
        labels.append(y)
    s = Scorer.train(feats, labels)
    p = s.predict(feats)
    assert ((p > 0.5) == np.array(labels)).mean() > 0.85
    path = tmp_path / "s.json"
    s.save(str(path))
    s2 = Scorer.load(str(path))
    assert s2.version == s.version and s2.feature_names == s.feature_names
    assert np.allclose(s2.predict(feats), p)


def test_shipped_default_scorer_loads():
    s = Scorer.load_default()
    assert s.version != "untrained" and "img_sim" in s.feature_names



def _mention(brand: str, field: str, *, kind: str = "name", distance: int = 0) -> Mention:
    return Mention(brand, brand, brand, distance, kind, field, False)


def _look_alike_evidence() -> Evidence:
    """What a generic product photo gets against a catalog of its kind: one brand's headphones resemble another's."""
    return Evidence(img={"other": (0.83, "o-1", 0, 0)}, region={"other": (0.82, "o-1", 0, 0, (0, 0, 1, 1))},
                    text={"other": (0.66, "o-1")}, logo={"other": (0.62, "o-1", 0, 0, (0, 0, 1, 1))})


@pytest.mark.parametrize("field", ["title", "image"])
def test_a_name_in_the_title_or_printed_on_the_product_outweighs_a_look_alike_photo(field):
    assert attribute_brand([_mention("named", field)], _look_alike_evidence(), 8) == "named"


def test_look_alike_photo_still_outweighs_a_name_only_in_the_description_or_misspelled():
    evidence = _look_alike_evidence()
    assert attribute_brand([_mention("named", "description")], evidence, 8) == "other"
    assert attribute_brand([_mention("named", "image", kind="protected")], evidence, 8) == "other"
    assert attribute_brand([], evidence, 8) == "other"
    assert attribute_brand([], Evidence(), 8) is None

"""The synthetic bundle generator writes valid, deterministic, trademark-free data in the bundle format (docs/architecture.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from ml.synth import CATEGORIES, generate_bundle
from ml.synth.__main__ import main as cli_main
from ml.synth.names import is_blocked, misspell

FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "brands.jsonl": {"brand_id": (str,), "name": (str,), "aliases": (list,), "protected_terms": (list,)},
    "catalog.jsonl": {"ref_id": (str,), "brand_id": (str,), "title": (str,), "description": (str,),
                      "msrp": (float, int, type(None)), "currency": (str,), "images": (list,), "kind": (str,)},
    "authorized_sellers.jsonl": {"brand_id": (str,), "seller_id": (str,)},
    "sellers.jsonl": {"seller_id": (str,), "name": (str,), "account_age_days": (int,), "prior_takedowns": (int,),
                      "prior_sales": (int,)},
    "listings.jsonl": {"listing_id": (str,), "seller_id": (str,), "title": (str,), "description": (str,),
                       "price": (float, int), "currency": (str,), "images": (list,)},
    "labels.jsonl": {"listing_id": (str,), "counterfeit": (bool,), "brand_id": (str, type(None)), "category": (str,)},
}
FAMOUS = ["nike", "adidas", "puma", "gucci", "prada", "chanel", "rolex", "apple", "samsung", "sony", "zara",
          "louis vuitton", "dior", "lego", "bose", "lenovo", "starbucks", "coca-cola", "ferrari", "bmw", "google"]


def read(d: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (d / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "bundle"
    return out, generate_bundle(str(out))


def test_every_record_has_exactly_the_design_fields(bundle) -> None:
    d, _ = bundle
    for name, spec in FIELDS.items():
        rows = read(d, name)
        assert rows, name
        for r in rows:
            assert set(r) == set(spec), (name, r)
            for k, types in spec.items():
                assert isinstance(r[k], types), (name, k, r[k])
                if bool not in types and not isinstance(r[k], type(None)):
                    assert not isinstance(r[k], bool), (name, k)


def test_values_are_sane(bundle) -> None:
    d, _ = bundle
    for r in read(d, "catalog.jsonl"):
        assert r["kind"] in ("product", "logo")
        assert (r["msrp"] is None) == (r["kind"] == "logo")
        assert r["msrp"] is None or r["msrp"] > 0
        assert r["currency"] in ("USD", "EUR", "GBP") and r["images"]
    for r in read(d, "listings.jsonl"):
        assert r["price"] > 0 and r["currency"] in ("USD", "EUR", "GBP") and 1 <= len(r["images"]) <= 3
    for r in read(d, "sellers.jsonl"):
        assert r["account_age_days"] >= 1 and r["prior_takedowns"] >= 0 and r["prior_sales"] >= 0
    for r in read(d, "brands.jsonl"):
        assert r["aliases"] and r["protected_terms"] and all(isinstance(t, str) for t in r["protected_terms"])


def test_ids_unique_and_references_resolve(bundle) -> None:
    d, _ = bundle
    brands = {r["brand_id"] for r in read(d, "brands.jsonl")}
    sellers = {r["seller_id"] for r in read(d, "sellers.jsonl")}
    for name, key in [("brands.jsonl", "brand_id"), ("catalog.jsonl", "ref_id"), ("sellers.jsonl", "seller_id"),
                      ("listings.jsonl", "listing_id"), ("labels.jsonl", "listing_id")]:
        ids = [r[key] for r in read(d, name)]
        assert len(ids) == len(set(ids)), name
    assert {r["brand_id"] for r in read(d, "catalog.jsonl")} == brands
    auth = read(d, "authorized_sellers.jsonl")
    assert all(a["brand_id"] in brands and a["seller_id"] in sellers for a in auth)
    assert {a["brand_id"] for a in auth} == brands
    listings = read(d, "listings.jsonl")
    assert all(r["seller_id"] in sellers for r in listings)
    assert [r["listing_id"] for r in listings] == [r["listing_id"] for r in read(d, "labels.jsonl")]
    for lab in read(d, "labels.jsonl"):
        assert lab["brand_id"] is None or lab["brand_id"] in brands
        assert lab["counterfeit"] == lab["category"].startswith("cf_")
        if lab["category"] in ("g_unbranded", "g_other_brand"):
            assert lab["brand_id"] is None
        else:
            assert lab["brand_id"] in brands


def test_every_referenced_image_exists_and_opens(bundle) -> None:
    d, _ = bundle
    paths = [p for r in read(d, "catalog.jsonl") for p in r["images"]]
    paths += [p for r in read(d, "listings.jsonl") for p in r["images"]]
    assert len(paths) == len(set(paths))
    assert all(p.startswith("images/ref/") for r in read(d, "catalog.jsonl") for p in r["images"])
    assert all(p.startswith("images/lst/") for r in read(d, "listings.jsonl") for p in r["images"])
    for p in paths:
        with Image.open(d / p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert 384 // 2 <= max(im.size) <= 384
            im.load()
    on_disk = {str(p.relative_to(d)) for p in (d / "images").rglob("*.jpg")}
    assert on_disk == set(paths)


def test_every_category_present_and_share(bundle) -> None:
    d, summary = bundle
    labels = read(d, "labels.jsonl")
    assert {lab["category"] for lab in labels} == set(CATEGORIES)
    share = sum(lab["counterfeit"] for lab in labels) / len(labels)
    assert 0.25 <= share <= 0.45
    assert summary.categories == {c: sum(lab["category"] == c for lab in labels) for c in summary.categories}
    assert summary.files["listings.jsonl"] == 120 and summary.files["brands.jsonl"] == 6


def test_no_real_trademarks(bundle) -> None:
    d, _ = bundle
    text = " ".join((d / name).read_text(encoding="utf-8") for name in FIELDS).lower()
    for mark in FAMOUS:
        assert not re.search(rf"\b{re.escape(mark)}\b", text), mark
    for r in read(d, "brands.jsonl"):
        assert not is_blocked(r["name"])


def test_counterfeit_sellers_not_separable_by_one_field(bundle) -> None:
    d, _ = bundle
    sellers = {r["seller_id"]: r for r in read(d, "sellers.jsonl")}
    by_label: dict[bool, list[dict]] = {True: [], False: []}
    listings = {r["listing_id"]: r for r in read(d, "listings.jsonl")}
    for lab in read(d, "labels.jsonl"):
        by_label[lab["counterfeit"]].append(sellers[listings[lab["listing_id"]]["seller_id"]])
    for f in ("account_age_days", "prior_takedowns", "prior_sales"):
        cf, ok = [s[f] for s in by_label[True]], [s[f] for s in by_label[False]]
        assert max(cf) > min(ok) and max(ok) > min(cf), f  # ranges overlap


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    kw = {"n_brands": 3, "n_listings": 30, "image_size": 160}
    a, b, c = (tmp_path / x for x in "abc")
    generate_bundle(str(a), seed=3, **kw)
    generate_bundle(str(b), seed=3, **kw)
    generate_bundle(str(c), seed=4, **kw)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "listings.jsonl").read_bytes() != (c / "listings.jsonl").read_bytes()


def test_cli_writes_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([str(tmp_path / "cli"), "--seed", "1", "--brands", "2", "--listings", "12", "--size", "128"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"]["listings.jsonl"] == 12 and (tmp_path / "cli" / "labels.jsonl").exists()


def test_name_helpers() -> None:
    import random

    assert is_blocked("Nike") and is_blocked("Xgucciq") and not is_blocked("Quindra")
    rng = random.Random(0)
    assert all(misspell(rng, "Quindra") != "Quindra" for _ in range(50))


def test_everyday_bundle_has_ordinary_word_names_printed_brands_and_is_deterministic(tmp_path):
    """The second development bundle: product lines that are ordinary words, ordinary listings that use them,
    and the brand printed on the product as its only trace (cf_text_printed)."""
    from wordfreq import zipf_frequency

    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        generate_bundle(str(out), seed=3, n_brands=6, n_listings=80, image_size=256, everyday=True)
    assert (a / "listings.jsonl").read_bytes() == (b / "listings.jsonl").read_bytes()
    brands = [json.loads(line) for line in (a / "brands.jsonl").read_text().splitlines()]
    lines = [t.split()[0] for br in brands for t in br["protected_terms"]]
    assert sum(zipf_frequency(w, "en") >= 3.0 for w in lines) >= len(lines) // 4, lines
    labels = [json.loads(line) for line in (a / "labels.jsonl").read_text().splitlines()]
    listings = {x["listing_id"]: x for x in map(json.loads, (a / "listings.jsonl").read_text().splitlines())}
    printed = [lab for lab in labels if lab["category"] == "cf_text_printed"]
    assert printed and all(lab["counterfeit"] for lab in printed)
    for lab in printed:  # the brand is nowhere in the text
        name = next(br["name"] for br in brands if br["brand_id"] == lab["brand_id"]).lower()
        text = (listings[lab["listing_id"]]["title"] + listings[lab["listing_id"]]["description"]).lower()
        assert name not in text
    assert not any(is_blocked(br["name"]) for br in brands)


def test_print_stands_out_from_what_it_is_printed_on() -> None:
    """A brand printed on a product is meant to be read: generated print keeps its luminance away from the body,
    the pattern's accent and a watch's dial, whatever colours the design drew."""
    import random

    from ml.synth.canvas import INKS, print_color, stands_out
    from ml.synth.product import print_ground, random_design, word_color

    grey = (128, 128, 128)
    assert print_color(grey, (130, 130, 130)) in INKS  # same grey on grey: an ink instead
    assert print_color((250, 250, 250), (20, 20, 20)) == (250, 250, 250)  # already legible: kept
    rng = random.Random(5)
    for _ in range(300):
        d = random_design(rng)
        c = word_color(d)
        assert stands_out(c, print_ground(d)), (d, c)

"""Bundle reader: every error names file, line, item and field; good lines are kept; ZIPs are safe."""
import json
import zipfile

from PIL import Image

from ml.bundle import BundleError, read_bundle


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


def _bundle(root):
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "images" / "a.jpg")
    _write(root / "brands.jsonl", [{"brand_id": "acme", "name": "Acme", "aliases": [], "protected_terms": []}])
    _write(root / "catalog.jsonl", [
        {"ref_id": "R1", "brand_id": "acme", "title": "Widget", "description": "", "msrp": 10, "currency": "USD",
         "images": ["images/a.jpg"], "kind": "product"},
        {"ref_id": "R2", "brand_id": "acme", "title": "Bad", "description": "", "msrp": -3, "currency": "USD",
         "images": ["images/a.jpg"], "kind": "product"},
        {"ref_id": "R3", "brand_id": "nope", "title": "x", "msrp": 1, "currency": "USD", "images": ["images/a.jpg"]},
        {"ref_id": "R4", "brand_id": "acme", "title": "x", "msrp": 1, "currency": "US", "images": ["images/a.jpg"]},
        {"ref_id": "R5", "brand_id": "acme", "title": "x", "msrp": 1, "currency": "USD", "images": ["../etc/passwd"]},
        {"ref_id": "R6", "brand_id": "acme", "title": "x", "msrp": 1, "currency": "USD", "images": ["/etc/passwd"]},
        {"ref_id": "R7", "brand_id": "acme", "title": "x", "msrp": 1, "currency": "USD", "images": ["images/missing.jpg"]},
        "{not json",
        {"ref_id": "R1", "brand_id": "acme", "title": "dup", "msrp": 1, "currency": "USD", "images": ["images/a.jpg"]},
        {"ref_id": "R8", "brand_id": "acme", "title": "ok", "msrp": 1, "currency": "EUR", "images": ["images/a.jpg"],
         "colour": "red"},
    ])
    _write(root / "authorized_sellers.jsonl", [{"brand_id": "acme", "seller_id": "S1"}])
    _write(root / "sellers.jsonl", [{"seller_id": "S1", "name": "s", "account_age_days": 10, "prior_takedowns": 0,
                                     "prior_sales": 5},
                                    {"seller_id": "S2", "name": "t", "account_age_days": -1}])
    _write(root / "listings.jsonl", [
        {"listing_id": "L1", "seller_id": "S1", "title": "t", "description": "d", "price": 5, "currency": "USD",
         "images": ["images/a.jpg"]},
        {"listing_id": "L2", "seller_id": "S1", "title": "t" * 1000, "price": 5, "currency": "USD", "images": []},
        {"listing_id": "L3", "seller_id": "S1", "title": "t", "price": "cheap", "currency": "USD", "images": []},
    ])


def _msgs(b):
    return [str(e) for e in b.errors]


def test_errors_are_precise_and_good_lines_kept(tmp_path):
    _bundle(tmp_path)
    b = read_bundle(str(tmp_path))
    assert [r.ref_id for r in b.references] == ["R1", "R8"]
    assert b.references[0].image_paths[0].startswith(str(tmp_path))
    assert [x.listing_id for x in b.listings] == ["L1"]
    assert b.sellers["S1"].authorized_brands == frozenset({"acme"})
    assert b.listings[0].seller.authorized_brands == frozenset({"acme"})
    m = _msgs(b)
    assert "catalog.jsonl line 2 (ref_id=R2): field 'msrp': must be a number >= 0 and <= 1e+07" in m
    assert any(s.startswith("catalog.jsonl line 3 (ref_id=R3): field 'brand_id': unknown brand") for s in m)
    assert any(s.startswith("catalog.jsonl line 4 (ref_id=R4): field 'currency'") for s in m)
    assert any("line 5 (ref_id=R5): field 'images': '..' not allowed" in s for s in m)
    assert any("line 6 (ref_id=R6): field 'images': absolute path" in s for s in m)
    assert any("line 7 (ref_id=R7): field 'images': file not found" in s for s in m)
    assert any(s.startswith("catalog.jsonl line 8: invalid JSON") for s in m)
    assert any("line 9 (ref_id=R1): field 'ref_id': duplicate id" in s for s in m)
    assert "catalog.jsonl line 10 (ref_id=R8): field 'colour': unknown field (ignored)" in m
    assert any("sellers.jsonl line 2 (seller_id=S2): field 'account_age_days'" in s for s in m)
    assert any("listings.jsonl line 2 (listing_id=L2): field 'title': longer than" in s for s in m)
    assert any("listings.jsonl line 3 (listing_id=L3): field 'price'" in s for s in m)


def test_bundle_error_str_format():
    e = BundleError("catalog.jsonl", 7, "ref_id=R12", "msrp", "must be a number >= 0")
    assert str(e) == "catalog.jsonl line 7 (ref_id=R12): field 'msrp': must be a number >= 0"


def test_zip_bundle_refuses_traversal_and_bombs(tmp_path):
    src = tmp_path / "src"
    _bundle(src)
    zpath = tmp_path / "b.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for p in src.rglob("*"):
            if p.is_file():
                z.write(p, "bundle/" + str(p.relative_to(src)))
        z.writestr("../evil.txt", "x")
        z.writestr("bundle/zeros.bin", b"\0" * 5_000_000)  # ratio ~1000:1
    out = tmp_path / "out"
    b = read_bundle(str(zpath), extract_to=str(out))
    assert not (tmp_path / "evil.txt").exists()
    assert not (out / "bundle" / "zeros.bin").exists()
    m = _msgs(b)
    assert any("../evil.txt" in s and "traversal" in s for s in m)
    assert any("zeros.bin" in s and "ratio" in s for s in m)
    assert [r.ref_id for r in b.references] == ["R1", "R8"]

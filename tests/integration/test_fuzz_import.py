"""Property-based abuse of the bundle importer: garbage lines, wrong types, duplicate ids, hostile ZIPs.

Every case: ``import_bundle`` returns a job whose errors name the file/line/id/field; valid items are kept;
nothing is written outside the scratch folder and MEDIA_ROOT.
"""
import io
import json
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anticounterfeit.catalog.actions import import_bundle
from anticounterfeit.catalog.models import ReferenceItem
from tests.factories import jpeg_bytes
from tests.strategies import json_values, nasty_value

pytestmark = [pytest.mark.services, pytest.mark.django_db]
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
GOOD_REF = {"ref_id": "good", "brand_id": "b1", "title": "Runner", "description": "", "msrp": 100, "currency": "USD",
            "images": ["images/ref/a.jpg"], "kind": "product"}


def write_bundle(root, catalog_lines: list[str]) -> None:
    (root / "images" / "ref").mkdir(parents=True, exist_ok=True)
    (root / "images" / "ref" / "a.jpg").write_bytes(jpeg_bytes())
    (root / "brands.jsonl").write_text(json.dumps({"brand_id": "b1", "name": "Brandy", "aliases": [],
                                                  "protected_terms": []}) + "\n")
    (root / "catalog.jsonl").write_text("\n".join(catalog_lines) + "\n", encoding="utf-8", errors="surrogatepass")


def line_of(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@FUZZ
@given(lines=st.lists(json_values.map(line_of) | st.text(max_size=60).filter(lambda t: "\n" not in t and "\r" not in t),
                      max_size=4),
       overrides=st.dictionaries(st.sampled_from(list(GOOD_REF)), nasty_value, max_size=4))
def test_garbage_catalog_lines_are_reported_and_good_items_kept(tmp_path_factory, lines, overrides):
    root = tmp_path_factory.mktemp("fuzz-bundle")
    mutated = {**GOOD_REF, **overrides, "ref_id": "mutant"}
    write_bundle(root, [json.dumps(GOOD_REF), *lines, json.dumps(mutated), json.dumps(GOOD_REF)])
    job = import_bundle(str(root), rebuild=False)
    assert ReferenceItem.objects.filter(ref_key="good").count() == 1, job.errors
    for error in job.errors:
        assert "catalog.jsonl" in error or "brands.jsonl" in error, error
    if not ReferenceItem.objects.filter(ref_key="mutant").exists():
        assert any("mutant" in e or "line 3" in e for e in job.errors) or overrides.get("ref_id"), job.errors
    ReferenceItem.objects.all().delete()


def test_duplicate_ref_ids_do_not_duplicate_rows(tmp_path):
    write_bundle(tmp_path, [json.dumps(GOOD_REF), json.dumps({**GOOD_REF, "title": "Runner v2"})])
    import_bundle(str(tmp_path), rebuild=False)
    assert ReferenceItem.objects.filter(ref_key="good").count() == 1


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> str:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


def test_hostile_zips_are_refused_without_writing_outside(tmp_path, settings):
    outside = tmp_path / "outside"
    outside.mkdir()
    catalog = (json.dumps(GOOD_REF) + "\n").encode()
    brands = json.dumps({"brand_id": "b1", "name": "Brandy", "aliases": [], "protected_terms": []}).encode() + b"\n"
    base = {"brands.jsonl": brands, "catalog.jsonl": catalog, "images/ref/a.jpg": jpeg_bytes()}
    cases = {
        "traversal.zip": {**base, "../outside/evil.txt": b"pwned", "../../outside/evil2.txt": b"pwned"},
        "absolute.zip": {**base, str(outside / "abs.txt"): b"pwned"},
        "backslash.zip": {**base, "..\\outside\\evil3.txt": b"pwned"},
        "bomb.zip": {**base, "images/ref/zeros.jpg": b"\0" * (60 * 1024 * 1024)},
    }
    for name, members in cases.items():
        job = import_bundle(_zip(tmp_path / name, members), rebuild=False)
        text = "\n".join(job.errors)
        assert job.errors, f"{name}: no error reported"
        assert name in text, f"{name}: errors must name the archive: {text}"
        if name == "bomb.zip":
            assert "ratio" in text or "bomb" in text or "too big" in text, text
    assert os.listdir(outside) == []
    assert not any(p.name.startswith("evil") for p in tmp_path.rglob("*"))
    media = os.path.realpath(settings.MEDIA_ROOT)
    for ref in ReferenceItem.objects.all():
        for image in ref.images.all():
            assert os.path.realpath(image.image.path).startswith(media + os.sep)


def test_not_a_zip_and_missing_files_are_clean_errors(tmp_path):
    fake = tmp_path / "bundle.zip"
    fake.write_bytes(io.BytesIO(b"PK\x03\x04 truncated").getvalue())
    job = import_bundle(str(fake), rebuild=False)
    assert job.errors
    job = import_bundle(str(tmp_path / "does-not-exist"), rebuild=False)
    assert job.errors

"""The brand owner's path in a real browser: upload a catalog, watch the import finish, report a listing;
then the moderator finds the report at the top of the queue."""
import io
import json
import zipfile

import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.catalog.models import BrandReport, ReferenceItem
from anticounterfeit.moderation.models import Case
from tests.factories import jpeg_bytes, make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def catalog_zip() -> bytes:
    refs = [{"ref_id": "acme-trail", "brand_id": "acme", "title": "Acme trail runner", "msrp": 150,
             "images": ["images/trail.jpg", "images/trail-side.jpg"]},
            {"ref_id": "acme-logo", "brand_id": "acme", "title": "Acme wordmark", "kind": "logo",
             "images": ["images/logo.jpg"]},
            {"ref_id": "acme-broken", "brand_id": "acme", "title": "Broken photo", "images": ["images/broken.jpg"]}]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("brands.jsonl", json.dumps({"brand_id": "acme", "name": "Acme"}) + "\n")
        zf.writestr("catalog.jsonl", "".join(json.dumps(r) + "\n" for r in refs))
        zf.writestr("images/trail.jpg", jpeg_bytes((20, 140, 60), size=(160, 160), text="TRAIL"))
        zf.writestr("images/trail-side.jpg", jpeg_bytes((20, 100, 160), size=(160, 160), text="SIDE"))
        zf.writestr("images/logo.jpg", jpeg_bytes((250, 250, 250), size=(160, 160), text="ACME"))
        zf.writestr("images/broken.jpg", b"\xff\xd8 not really a jpeg")
    return buffer.getvalue()


def test_brand_uploads_catalog_and_reports_a_listing(live_server, browser, make_user, shot, celery_worker_real,
                                                     tmp_path):
    brand = make_brand()
    ref = make_reference(brand)
    scanned_listing("L-top", "S-1", score=0.97, brand=brand, ref=ref, title="Acme runner replica AAA")
    low = scanned_listing("L-low", "S-2", score=0.56, brand=brand, ref=ref, title="Acme style trail shoe, cheap")
    make_user("acme-owner", Role.BRAND_OWNER, brands=[brand])
    make_user("mod", Role.MODERATOR)
    bundle = tmp_path / "acme-catalog.zip"
    bundle.write_bytes(catalog_zip())

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    login(page, live_server.url, "acme-owner")
    page.wait_for_selector("#accuracy")
    assert "Not granted" in page.inner_text("#accuracy")
    shot(page, "brand_portal")

    page.click("text=Catalog")
    page.set_input_files("#zip-upload input[type=file]", str(bundle))
    page.click("#zip-upload button[type=submit]")
    page.wait_for_selector("#job")
    page.wait_for_function("document.getElementById('pct') && document.getElementById('pct').textContent === '100'",
                           timeout=300_000)
    assert page.inner_text("#label") == "Done"
    assert "acme-broken" in page.inner_text("#errors")
    page.wait_for_timeout(600)  # let the bar's width transition finish for the screenshot
    shot(page, "brand_import")
    page.click("#done-link a")
    page.wait_for_selector("#references")
    table = page.inner_text("#references")
    assert "Acme trail runner" in table and "Acme wordmark" in table and "Broken photo" not in table
    assert ReferenceItem.objects.get(ref_key="acme-trail").images.count() == 2
    shot(page, "brand_catalog")

    page.click("text=Matches")
    page.click("#matches >> text=Acme style trail shoe")
    page.wait_for_selector("[data-testid=match-title]")
    assert page.locator(".evidence img").count() >= 2  # the listing next to the brand's own reference
    page.select_option("#id_reason_code", "counterfeit")
    page.fill("#id_note", "Sole pattern and logo placement differ from our genuine trail shoe")
    shot(page, "brand_match")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector(".messages li.success")
    report = BrandReport.objects.get(listing=low)
    assert report.case.source == Case.Source.BRAND_REPORT
    page.click(".subnav >> text=Reports")
    assert "Awaiting a moderator" in page.inner_text("#reports")
    shot(page, "brand_reports")
    page.close()

    moderator = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    login(moderator, live_server.url, "mod")
    moderator.wait_for_selector("#queue")
    assert "Acme style trail shoe" in moderator.locator("#queue tr.row").first.inner_text()
    shot(moderator, "brand_report_in_queue")
    moderator.click("#queue >> text=Acme style trail shoe")
    moderator.wait_for_selector("[data-testid=brand-report]")
    assert "Sole pattern and logo placement" in moderator.inner_text("[data-testid=brand-report]")
    shot(moderator, "brand_report_case")
    moderator.close()


def test_brand_profile_sellers_matches_and_reports_pages(live_server, browser, make_user, shot):
    brand = make_brand()
    ref = make_reference(brand)
    scanned_listing("L-top", "S-1", score=0.97, brand=brand, ref=ref, title="Acme runner replica AAA")
    scanned_listing("L-two", "S-2", score=0.62, brand=brand, ref=ref, title="Acme sneaker lookalike")
    make_user("acme-owner", Role.BRAND_OWNER, brands=[brand])
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    login(page, live_server.url, "acme-owner")
    page.wait_for_selector("#accuracy")

    page.click("text=Authorized sellers")
    page.fill("#id_seller_ids", "S-2\nnobody")
    page.click("form.portal-form button[type=submit]")
    page.wait_for_selector("#authorized")
    assert "S-2" in page.inner_text("#authorized") and "nobody" in page.inner_text(".messages")
    shot(page, "brand_sellers")

    page.click(".subnav >> text=Matches")
    page.fill("#id_min_score", "0.9")
    page.click("text=Filter")
    page.wait_for_selector("#matches")
    assert "replica AAA" in page.inner_text("#matches") and "lookalike" not in page.inner_text("#matches")
    shot(page, "brand_matches")

    page.click(".subnav >> text=Catalog")
    page.click("text=+ Add one reference")
    page.wait_for_selector("#id_ref_key")
    shot(page, "brand_reference_form")

    # Last: new protected terms re-match the listings above (with a worker running, their scores change).
    page.click(".subnav >> text=Overview")
    page.wait_for_selector("#accuracy")
    page.click("#accuracy >> text=Profile")
    page.fill("#id_protected_terms", "airstride\nacme-flex")
    page.fill("#id_trademark_numbers", "EUTM 018234567")
    page.fill("#id_contact_email", "legal@acme.example")
    page.click("form.portal-form button[type=submit]")
    page.wait_for_selector(".messages li.success")
    brand.refresh_from_db()
    assert brand.protected_terms == ["airstride", "acme-flex"] and brand.trademark_numbers == ["EUTM 018234567"]
    assert "follow the progress" in page.inner_text(".messages")  # new terms re-match the existing listings
    shot(page, "brand_profile")
    page.close()


def test_brand_uploads_a_bundle_folder_and_watches_the_import(live_server, browser, make_user, shot,
                                                              celery_worker_real, tmp_path):
    """The folder picker (webkitdirectory): files go up with their paths inside the folder, the same job runs."""
    brand = make_brand()
    make_user("acme-owner", Role.BRAND_OWNER, brands=[brand])
    folder = tmp_path / "acme-folder"
    (folder / "images" / "shoes").mkdir(parents=True)
    refs = [{"ref_id": "fold-runner", "brand_id": "acme", "title": "Acme folder runner", "msrp": 120,
             "images": ["images/shoes/runner.jpg", "images/shoes/runner-top.jpg"]},
            {"ref_id": "fold-logo", "brand_id": "acme", "title": "Acme folder wordmark", "kind": "logo",
             "images": ["images/logo.jpg"]},
            {"ref_id": "fold-broken", "brand_id": "acme", "title": "Broken scan", "images": ["images/broken.jpg"]}]
    (folder / "brands.jsonl").write_text(json.dumps({"brand_id": "acme", "name": "Acme"}) + "\n")
    (folder / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in refs))
    (folder / "images" / "shoes" / "runner.jpg").write_bytes(jpeg_bytes((200, 90, 20), size=(160, 160), text="RUN"))
    (folder / "images" / "shoes" / "runner-top.jpg").write_bytes(jpeg_bytes((90, 200, 20), size=(160, 160), text="TOP"))
    (folder / "images" / "logo.jpg").write_bytes(jpeg_bytes((250, 250, 250), size=(160, 160), text="ACME"))
    (folder / "images" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    login(page, live_server.url, "acme-owner")
    page.wait_for_selector("#accuracy")
    page.click("text=Catalog")
    page.set_input_files("#folder-upload input[type=file]", str(folder))
    assert page.inner_text("#folder-summary") == "acme-folder: 6 files"
    shot(page, "brand_folder_picked")
    page.click("#folder-upload button[type=submit]")
    page.wait_for_selector("#job")
    assert "folder acme-folder (6 files)" in page.inner_text("body")
    page.wait_for_function("document.getElementById('pct') && document.getElementById('pct').textContent === '100'",
                           timeout=300_000)
    assert page.inner_text("#label") == "Done"
    assert "fold-broken" in page.inner_text("#errors")
    page.wait_for_timeout(600)
    shot(page, "brand_folder_import")
    page.click("#done-link a")
    page.wait_for_selector("#references")
    table = page.inner_text("#references")
    assert "Acme folder runner" in table and "Acme folder wordmark" in table and "Broken scan" not in table
    assert ReferenceItem.objects.get(ref_key="fold-runner").images.count() == 2
    page.close()

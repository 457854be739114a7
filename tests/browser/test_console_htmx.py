"""Partial updates in headless Chromium: queue filters swap the table in place (URL pushed, back button works),
the console still works with JavaScript off, and the case page shows its lease strip and the OCR evidence."""
import numpy as np
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.moderation.models import Case
from ml.types import ScanResult
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture
def world(make_user):
    acme, bolt = make_brand("acme", "Acme"), make_brand("bolt", "Bolt")
    ref_a, ref_b = make_reference(acme, "ref-a"), make_reference(bolt, "ref-b", msrp=300)
    scanned_listing("L-a1", "S-1", score=0.96, brand=acme, ref=ref_a, title="Acme runner 1:1 replica")
    scanned_listing("L-b1", "S-3", score=0.72, brand=bolt, ref=ref_b, title="Bolt watch", image_color=(9, 99, 9),
                    pdq="ef" * 32)
    ocr = scanned_listing("L-ocr", "S-4", score=0.2, title="Running shoes, blue", image_color=(30, 30, 30),
                          pdq="aa" * 32)
    record_detection(ocr.pk, ScanResult(
        listing_id="L-ocr", score=0.88, brand_id="acme", signals={"mention_image": 1.0}, matches=[],
        explanation=["text in image 1 names Acme"], image_vectors=np.ones((1, 8), dtype=np.float32),
        pdq_hashes=["aa" * 32], model_version="test", image_text={0: "ACME ORIGINAL 100%"}), bank_version=2)
    make_user("mod", Role.MODERATOR)
    return {"acme": acme, "bolt": bolt, "ocr": ocr}


def test_filters_swap_the_table_without_a_reload(live_server, browser, world, shot):
    page = browser.new_page(viewport=VIEWPORT)
    login(page, live_server.url, "mod")
    page.wait_for_selector("#queue")
    page.wait_for_function("window.htmx !== undefined")  # the vendored file loaded (no CDN)
    assert page.locator("#queue tr.row").count() == 3
    page.evaluate("window.__noReload = 1")

    page.select_option("select[name=brand]", str(world["bolt"].pk))  # change alone asks htmx: no Filter click
    page.wait_for_url("**brand=*")
    page.wait_for_function("document.querySelectorAll('#queue tr.row').length === 1")
    assert "Bolt watch" in page.inner_text("#queue")
    assert page.evaluate("window.__noReload") == 1  # same document: the table was swapped in place
    page.keyboard.press("Enter")  # keyboard selection re-bound to the new rows
    page.wait_for_selector("[data-testid=case-title]")
    assert "Bolt watch" in page.inner_text("[data-testid=case-title]")

    page.go_back()  # the pushed URL restores the filtered queue
    page.wait_for_selector("#queue")
    assert "brand=" in page.url and page.locator("#queue tr.row").count() == 1
    page.fill("#q", "replica")  # typing searches after a pause
    page.select_option("select[name=brand]", "")
    page.wait_for_function("document.querySelectorAll('#queue tr.row').length === 1 && "
                           "document.querySelector('#queue').innerText.includes('replica')")
    assert "q=replica" in page.url
    shot(page, "console-queue-htmx")
    page.close()


def test_console_works_without_javascript(live_server, browser, world):
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    page = context.new_page()
    login(page, live_server.url, "mod")
    page.wait_for_selector("#queue")
    page.select_option("select[name=brand]", str(world["bolt"].pk))
    page.click("#filters button[type=submit]")
    page.wait_for_url("**brand=*")
    assert page.locator("#queue tr.row").count() == 1 and "Bolt watch" in page.inner_text("#queue")
    page.click("#queue a:has-text('Bolt watch')")
    page.wait_for_selector("[data-testid=lease-mine]")
    page.click("#extend-lease")  # a plain form post, back to the case
    page.wait_for_selector("[data-testid=case-title]")
    assert "is yours until" in page.inner_text(".messages")
    context.close()


def test_case_page_lease_strip_and_ocr_text(live_server, browser, world, shot):
    case = Case.objects.get(listing=world["ocr"])
    page = browser.new_page(viewport=VIEWPORT)
    login(page, live_server.url, "mod")
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    page.wait_for_selector("[data-testid=lease-mine]")
    assert "You hold this case for 15 min" in page.inner_text("[data-testid=lease]")
    ocr = page.locator("[data-testid=ocr-image-0]")
    assert ocr.locator("img").count() == 1 and ocr.locator("mark.m-brand").inner_text() == "ACME"
    assert "names the brand" in ocr.inner_text()
    page.evaluate("window.__noReload = 1")
    Case.objects.filter(pk=case.pk).update(lease_expires_at=case.opened_at)  # the hold ran out meanwhile
    with page.expect_response(lambda r: r.url.endswith("/claim/")):
        page.click("#extend-lease")
    page.wait_for_selector("[data-testid=lease-mine]")
    assert page.evaluate("window.__noReload") == 1  # swapped in place
    assert Case.objects.get(pk=case.pk).lease_expires_at > case.opened_at
    page.locator("[data-testid=ocr]").scroll_into_view_if_needed()
    shot(page, "console-case-ocr")
    page.close()

"""htmx partial updates (queue results, counters, lease strip) and OCR evidence on the case page, on PostgreSQL.

Every partial is also reachable as a plain page, so the console works without JavaScript.
"""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.detection.models import Detection
from anticounterfeit.moderation.models import Case
from ml.types import ScanResult
from tests.factories import logged_in, make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(make_user):
    acme = make_brand("acme", "Acme")
    ref = make_reference(acme, "ref-a")
    listings = {
        "L-hi": scanned_listing("L-hi", "S-1", score=0.95, brand=acme, ref=ref, title="Acme runner replica"),
        "L-mid": scanned_listing("L-mid", "S-2", score=0.70, brand=acme, ref=ref, title="Acme watch",
                                 image_color=(10, 200, 10), pdq="cd" * 32),
    }
    return {"acme": acme, "ref": ref, "mod": make_user("mod", Role.MODERATOR), "mod2": make_user("mod2", Role.MODERATOR),
            "owner": make_user("owner", Role.BRAND_OWNER), **listings}


# ---- queue: filters and pagination swap the results only -----------------------------------------------------

def test_queue_answers_htmx_with_the_results_partial(world, django_assert_max_num_queries):
    client = logged_in(world["mod"])
    full = client.get("/console/", {"band": "high"})
    html = full.content.decode()
    assert html.startswith("<!doctype html>") and "/static/vendor/htmx.min.js" in html
    assert 'hx-target="#queue-results"' in html and 'hx-push-url="true"' in html  # the filter form asks htmx
    assert 'id="counters"' in html and 'hx-trigger="every 30s"' in html

    with django_assert_max_num_queries(11):  # 8 + 3 for the page's thumbnails
        partial = client.get("/console/", {"band": "high"}, HTTP_HX_TARGET="queue-results", **HX)
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="queue-results">') and "<html" not in body and 'id="filters"' not in body
    assert [c.listing.listing_key for c in partial.context["page"]] == ["L-hi"]
    assert "HX-Request" in partial["Vary"] and "HX-Request" in full["Vary"]  # one URL, two bodies
    # the back button after a pushed URL asks for the whole page again
    restore = client.get("/console/", {"band": "high"}, HTTP_HX_TARGET="queue-results",
                         HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX)
    assert restore.content.decode().startswith("<!doctype html>")
    # the filters of an htmx request are what n / next-after-decision use, as for a plain one
    assert client.get("/console/next/")["Location"] == f"/console/cases/{Case.objects.get(listing=world['L-hi']).pk}/"


def test_pagination_links_work_with_and_without_htmx(world):
    for n in range(26):
        scanned_listing(f"P-{n:02d}", "S-9", score=0.6, brand=world["acme"], title=f"Acme page {n}")
    client = logged_in(world["mod"])
    first = client.get("/console/", {"q": "S-9"}, HTTP_HX_TARGET="queue-results", **HX)
    body = first.content.decode()
    assert 'rel="next" hx-get="?q=S-9&amp;page=2"' in body and 'hx-push-url="true"' in body
    second = client.get("/console/?q=S-9&page=2", HTTP_HX_TARGET="queue-results", **HX)
    assert len(second.context["page"]) == 1 and 'rel="prev"' in second.content.decode()
    assert len(client.get("/console/?q=S-9&page=2").context["page"]) == 1  # the same link without JavaScript


def test_counters_partial_is_for_staff(world):
    response = logged_in(world["mod"]).get("/console/counters/", **HX)
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="count-open">2<' in body and "<html" not in body
    assert logged_in(world["owner"]).get("/console/counters/").status_code == 403


# ---- case page: the lease strip -------------------------------------------------------------------------------

def test_lease_strip_shows_and_extends_the_hold(world):
    case = Case.objects.get(listing=world["L-hi"])
    a, b = logged_in(world["mod"]), logged_in(world["mod2"])
    page = a.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'id="lease"' in page and "You hold this case for <b>15 min</b>" in page
    assert f'hx-get="/console/cases/{case.pk}/lease/"' in page

    strip = b.get(f"/console/cases/{case.pk}/lease/", **HX).content.decode()
    assert "Held by <b>mod</b>" in strip and "<html" not in strip and "extend-lease" not in strip
    refused = b.post(f"/console/cases/{case.pk}/claim/", HTTP_HX_TARGET="lease", **HX).content.decode()
    assert "is being reviewed by mod" in refused
    assert Case.objects.get(pk=case.pk).assigned_to == world["mod"]

    Case.objects.filter(pk=case.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    expired = a.get(f"/console/cases/{case.pk}/lease/", **HX).content.decode()
    assert "the hold ran out" in expired and ">Take it<" in expired
    response = a.post(f"/console/cases/{case.pk}/claim/")  # without JavaScript: a plain form, back to the case
    assert response.status_code == 302 and response["Location"] == f"/console/cases/{case.pk}/"
    assert Case.objects.get(pk=case.pk).lease_expires_at > timezone.now() + timedelta(minutes=14)
    extended = a.post(f"/console/cases/{case.pk}/claim/", HTTP_HX_TARGET="lease", **HX)
    body = extended.content.decode()
    assert body.lstrip().startswith('<div id="lease"') and "You hold this case" in body
    assert "HX-Refresh" not in extended  # the holder's page already has the decision form

    Case.objects.filter(pk=case.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    taken = b.post(f"/console/cases/{case.pk}/claim/", HTTP_HX_TARGET="lease", **HX)
    assert taken["HX-Refresh"] == "true"  # b's page was rendered locked: reload it with the decision form
    assert Case.objects.get(pk=case.pk).assigned_to == world["mod2"]


def test_claim_needs_csrf_and_post(world):
    case = Case.objects.get(listing=world["L-hi"])
    strict = logged_in(world["mod"], enforce_csrf_checks=True)
    assert strict.post(f"/console/cases/{case.pk}/claim/", HTTP_HX_TARGET="lease", **HX).status_code == 403
    assert strict.get(f"/console/cases/{case.pk}/claim/").status_code == 405
    assert Case.objects.get(pk=case.pk).assigned_to is None


# ---- case page: OCR text when it contributed -------------------------------------------------------------------

def _scan_with_ocr(brand, ref, text: str, *, key="L-ocr"):
    listing = scanned_listing(key, "S-ocr", score=0.2, title="Sneakers blue", image_color=(40, 40, 40), pdq="ee" * 32)
    result = ScanResult(
        listing_id=key, score=0.9, brand_id=brand.brand_key, signals={"mention_image": 1.0, "img_sim": 0.3},
        explanation=["text in image 1 names Acme"], matches=[], image_vectors=np.ones((1, 8), dtype=np.float32),
        pdq_hashes=["ee" * 32], model_version="test", image_text={0: text, 1: ""},
    )
    record_detection(listing.pk, result, bank_version=2)
    return listing


def test_ocr_text_is_stored_and_shown_under_its_image_with_the_brand_marked(world):
    listing = _scan_with_ocr(world["acme"], world["ref"], "GENUINE ACME <b>QUALITY</b>")
    detection = Detection.objects.filter(listing=listing).first()
    assert detection.image_text == {"0": "GENUINE ACME <b>QUALITY</b>"}  # empty reads are not stored
    case = Case.objects.get(listing=listing)
    assert case.detection_id == detection.pk
    html = logged_in(world["mod"]).get(f"/console/cases/{case.pk}/").content.decode()
    block = html[html.index('data-testid="ocr-image-0"'):]
    block = block[:block.index("</div>\n    </div>")]
    image = listing.images.get(position=0)
    assert f'src="{image.image.url}"' in block  # under the image it was read from
    assert '<mark class="m-brand" title="brand mention">ACME</mark>' in block
    assert "&lt;b&gt;QUALITY&lt;/b&gt;" in block  # escaped, never markup
    assert "names the brand" in block
    assert "Text read in an image (OCR) names the brand" in html  # the signal in plain words
    assert 'data-testid="ocr-image-1"' not in html
    rows = logged_in(world["mod"]).get("/console/", {"signal": "ocr"}).context["page"]
    assert [c.listing.listing_key for c in rows] == ["L-ocr"]


def test_no_ocr_block_without_image_text(world):
    case = Case.objects.get(listing=world["L-hi"])
    assert 'data-testid="ocr"' not in logged_in(world["mod"]).get(f"/console/cases/{case.pk}/").content.decode()

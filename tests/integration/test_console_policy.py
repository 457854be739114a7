"""Console wiring of the detection policy: allow rules from a dismissal, noisy references, per-brand thresholds."""
import numpy as np
import pytest
from django.test import Client

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.detection.models import AllowRule, BrandPolicy, DetectionPolicy
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case, Decision
from ml.types import Match, ScanResult
from tests.factories import logged_in, make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _rescan(listing, brand, ref, *, score=0.95, bank_version=2):
    """The same listing scanned again (a new bank version), matching the same reference, as a worker would."""
    result = ScanResult(
        listing_id=listing.listing_key, score=score, brand_id=brand.brand_key, signals={"image_sim": 0.93},
        explanation=["image matched again"], model_version="test", image_vectors=np.ones((1, 8), dtype=np.float32),
        matches=[Match(kind="image", ref_id=ref.ref_key, brand_id=brand.brand_key, score=0.93, listing_image=0,
                       ref_image=0, box=(0.1, 0.1, 0.5, 0.5))], pdq_hashes=["ab" * 32],
    )
    record_detection(listing.pk, result, bank_version=bank_version)
    listing.refresh_from_db()
    return listing


def _dismiss(client, case, allow=""):
    client.get(f"/console/cases/{case.pk}/")  # claim it, as opening the case page does
    data = {"action": "dismiss", "reason_code": "genuine", "note": ""}
    if allow is not None:
        data["allow"] = allow
    return client.post(f"/console/cases/{case.pk}/decide/", data)


@pytest.fixture
def world(make_user):
    brand = make_brand()
    ref = make_reference(brand)
    return {"brand": brand, "ref": ref, "mod": make_user("mod", Role.MODERATOR), "lead": make_user("lead", Role.LEAD)}


# ---- 1. "also allow" on dismissal ------------------------------------------------------------------------
def test_case_page_offers_allow_choices(world):
    listing = scanned_listing("L-1", "S-1", score=0.9, brand=world["brand"], ref=world["ref"])
    page = logged_in(world["mod"]).get(f"/console/cases/{Case.objects.get(listing=listing).pk}/")
    assert page.status_code == 200
    assert b'id="allow-scope"' in page.content
    for value in ("seller_reference", "image"):
        assert f'value="{value}"'.encode() in page.content


def test_dismiss_with_seller_reference_rule_stops_the_rescan(world):
    brand, ref = world["brand"], world["ref"]
    listing = scanned_listing("L-1", "S-1", score=0.9, brand=brand, ref=ref)
    case = Case.objects.get(listing=listing)
    mod = logged_in(world["mod"])
    response = _dismiss(mod, case, allow="seller_reference")
    assert response.status_code == 302 and response["Location"] == "/console/next/"
    decision = Decision.objects.get(case=case)
    assert decision.action == Decision.Action.DISMISS
    rule = AllowRule.objects.get()
    assert (rule.scope, rule.seller, rule.reference, rule.decision) == ("seller_reference", listing.seller, ref, decision)
    assert rule.created_by == world["mod"]
    assert AuditEvent.objects.filter(action="detection.allow_rule_added", actor=world["mod"]).count() == 1

    _rescan(listing, brand, ref)  # the same listing rescanned: no case
    assert Case.objects.filter(listing=listing).count() == 1 and not Case.objects.open().exists()
    # the rule is what stops it: a new listing of the same seller matching the same reference (other image) stays clear …
    again = scanned_listing("L-2", "S-1", score=0.9, brand=brand, ref=ref, image_color=(10, 200, 10), pdq="cd" * 32)
    assert again.status == Listing.Status.CLEAR and not Case.objects.filter(listing=again).exists()
    # … while another seller with the same match still opens one
    other = scanned_listing("L-3", "S-2", score=0.9, brand=brand, ref=ref, image_color=(10, 10, 10), pdq="ef" * 32)
    assert other.status == Listing.Status.IN_REVIEW and Case.objects.filter(listing=other).exists()


def test_dismiss_with_image_rule_allows_that_image_only(world):
    brand, ref = world["brand"], world["ref"]
    listing = scanned_listing("L-1", "S-1", score=0.9, brand=brand, ref=ref)
    assert _dismiss(logged_in(world["mod"]), Case.objects.get(listing=listing), allow="image").status_code == 302
    rule = AllowRule.objects.get()
    assert rule.scope == "image" and rule.image_sha256 == listing.images.get().sha256
    same_image = scanned_listing("L-2", "S-9", score=0.9, brand=brand, ref=ref)  # default image: the same bytes
    assert not Case.objects.filter(listing=same_image).exists()
    other_image = scanned_listing("L-3", "S-1", score=0.9, brand=brand, ref=ref, image_color=(0, 90, 0), pdq="cd" * 32)
    assert Case.objects.filter(listing=other_image).exists()


def test_dismiss_without_allow_adds_no_rule_and_takedown_ignores_allow(world):
    brand, ref = world["brand"], world["ref"]
    mod = logged_in(world["mod"])
    first = scanned_listing("L-1", "S-1", score=0.9, brand=brand, ref=ref)
    assert _dismiss(mod, Case.objects.get(listing=first), allow=None).status_code == 302  # old form: no field
    second = scanned_listing("L-2", "S-2", score=0.9, brand=brand, ref=ref, image_color=(0, 0, 90), pdq="cd" * 32)
    assert _dismiss(mod, Case.objects.get(listing=second), allow="").status_code == 302
    third = scanned_listing("L-3", "S-3", score=0.9, brand=brand, ref=ref, image_color=(90, 0, 0), pdq="ef" * 32)
    case = Case.objects.get(listing=third)
    mod.get(f"/console/cases/{case.pk}/")
    mod.post(f"/console/cases/{case.pk}/decide/", {"action": "takedown", "reason_code": "counterfeit", "allow": "image"})
    assert Decision.objects.get(case=case).action == Decision.Action.TAKEDOWN
    assert not AllowRule.objects.exists()


def test_dismiss_with_nothing_to_allow_still_dismisses(world):
    listing = scanned_listing("L-1", "S-1", score=0.9)  # matched no reference
    case = Case.objects.get(listing=listing)
    mod = logged_in(world["mod"])
    response = _dismiss(mod, case, allow="seller_reference")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == Case.State.DECIDED and not AllowRule.objects.exists()
    texts = [str(m) for m in response.wsgi_request._messages]
    assert any("No allow rule added" in t for t in texts)


def test_bad_allow_scope_is_rejected(world):
    listing = scanned_listing("L-1", "S-1", score=0.9, brand=world["brand"], ref=world["ref"])
    case = Case.objects.get(listing=listing)
    assert _dismiss(logged_in(world["mod"]), case, allow="everything")["Location"] == f"/console/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state != Case.State.DECIDED and not AllowRule.objects.exists()


# ---- 2. noisy references ------------------------------------------------------------------------------
def _dismissed(world, n):
    for i in range(n):
        listing = scanned_listing(f"N-{i}", f"S-{i}", score=0.9, brand=world["brand"], ref=world["ref"],
                                  image_color=(20 * i, 40, 40), pdq=f"{i:02x}" * 32)
        case = Case.objects.get(listing=listing)
        actions.claim_case(case.pk, acting_user=world["mod"])
        actions.do_dismiss(case.pk, acting_user=world["mod"])


def test_noisy_page_lists_and_quarantines(world):
    _dismissed(world, 3)
    lead = logged_in(world["lead"])
    page = lead.get("/console/noisy/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [(r["reference"], r["dismissed"], r["taken_down"]) for r in rows] == [(world["ref"], 3, 0)]
    assert b"Quarantine</button>" in page.content and world["ref"].ref_key.encode() in page.content
    assert b'href="/console/noisy/"' in page.content  # nav link for leads

    response = lead.post(f"/console/noisy/{world['ref'].pk}/quarantine/", {"quarantined": "1"})
    assert response.status_code == 302 and response["Location"] == "/console/noisy/"
    world["ref"].refresh_from_db()
    assert world["ref"].quarantined
    assert AuditEvent.objects.filter(action="reference.quarantine", actor=world["lead"]).count() == 1
    assert b"Unquarantine</button>" in lead.get("/console/noisy/").content

    lead.post(f"/console/noisy/{world['ref'].pk}/quarantine/", {"quarantined": "0"})
    world["ref"].refresh_from_db()
    assert not world["ref"].quarantined
    assert lead.post(f"/console/noisy/{world['ref'].pk}/quarantine/", {"quarantined": "maybe"}).status_code == 400
    assert lead.get(f"/console/noisy/{world['ref'].pk}/quarantine/").status_code == 405


def test_noisy_page_needs_few_dismissals_and_a_lead(world):
    _dismissed(world, 2)
    lead = logged_in(world["lead"])
    assert list(lead.get("/console/noisy/").context["rows"]) == []
    mod = logged_in(world["mod"])
    assert mod.get("/console/noisy/").status_code == 403
    assert mod.post(f"/console/noisy/{world['ref'].pk}/quarantine/", {"quarantined": "1"}).status_code == 403
    world["ref"].refresh_from_db()
    assert not world["ref"].quarantined
    assert b'href="/console/noisy/"' not in mod.get("/console/").content
    assert Client().get("/console/noisy/").status_code == 302  # anonymous: to the login page


def test_quarantine_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["lead"])
    assert client.post(f"/console/noisy/{world['ref'].pk}/quarantine/", {"quarantined": "1"}).status_code == 403
    world["ref"].refresh_from_db()
    assert not world["ref"].quarantined


# ---- 3. per-brand threshold override ----------------------------------------------------------------------
def test_brand_threshold_override_from_settings(world):
    lead = logged_in(world["lead"])
    page = lead.get("/console/settings/")
    assert page.status_code == 200 and b'id="brand-threshold-form"' in page.content
    assert list(page.context["overrides"]) == []

    response = lead.post("/console/settings/brand-threshold/", {"brand": "acme", "review_threshold": "0.9", "override_reason": "brand asked"})
    assert response.status_code == 302 and response["Location"] == "/console/settings/"
    assert BrandPolicy.objects.get(brand=world["brand"]).review_threshold == 0.9
    assert AuditEvent.objects.filter(action="detection.brand_threshold_set", actor=world["lead"]).count() == 1
    page = lead.get("/console/settings/")
    assert [o.brand for o in page.context["overrides"]] == [world["brand"]]
    assert b"0.9" in page.content

    # the override is what new scans use (review_threshold_for caps any threshold at 0.8): 0.75 opens no case for
    # acme now, though it is above the global threshold
    assert DetectionPolicy.current().review_threshold < 0.75
    below = scanned_listing("L-1", "S-1", score=0.75, brand=world["brand"], ref=world["ref"])
    assert not Case.objects.filter(listing=below).exists()

    for bad in ({"brand": "acme", "review_threshold": "1.5", "override_reason": "x"},
                {"brand": "nope", "review_threshold": "0.5", "override_reason": "x"}):
        assert lead.post("/console/settings/brand-threshold/", bad).status_code == 302
    assert BrandPolicy.objects.get(brand=world["brand"]).review_threshold == 0.9

    lead.post("/console/settings/brand-threshold/", {"brand": "acme", "review_threshold": "", "override_reason": "undo"})  # back to global
    assert BrandPolicy.objects.get(brand=world["brand"]).review_threshold is None
    assert list(lead.get("/console/settings/").context["overrides"]) == []


def test_brand_threshold_is_for_leads(world):
    mod = logged_in(world["mod"])
    assert mod.get("/console/settings/").status_code == 403
    assert mod.post("/console/settings/brand-threshold/", {"brand": "acme", "review_threshold": "0.9"}).status_code == 403
    assert not BrandPolicy.objects.exists()

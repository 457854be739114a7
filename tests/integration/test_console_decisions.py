"""Deciding in the console: leases between two sessions, bulk decisions, escalations, appeals, thresholds, CSRF."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.models import DetectionPolicy
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Appeal, Case, Decision
from tests.factories import logged_in, make_brand, make_reference, scanned_listing
from workers.maintenance import expire_case_leases

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _decide(client, case, action="takedown", reason="counterfeit", note=""):
    return client.post(f"/console/cases/{case.pk}/decide/", {"action": action, "reason_code": reason, "note": note})


@pytest.fixture
def world(make_user):
    brand = make_brand()
    ref = make_reference(brand)
    return {
        "brand": brand, "ref": ref,
        "a": make_user("mod-a", Role.MODERATOR), "b": make_user("mod-b", Role.MODERATOR),
        "lead": make_user("lead", Role.LEAD), "lead2": make_user("lead2", Role.LEAD),
        "top": scanned_listing("L-1", "S-1", score=0.95, brand=brand, ref=ref, title="Acme replica"),
    }


def test_two_sessions_never_decide_one_case(world):
    case = Case.objects.get(listing=world["top"])
    a, b = logged_in(world["a"]), logged_in(world["b"])
    a.get(f"/console/cases/{case.pk}/")  # A opens it: A holds the lease
    page_b = b.get(f"/console/cases/{case.pk}/")
    assert not page_b.context["i_hold_lease"] and b'id="decide-form"' not in page_b.content
    response = _decide(b, case)  # B posts anyway (stale tab)
    assert response.status_code == 302 and response["Location"] == "/console/"
    case.refresh_from_db()
    assert case.state == Case.State.OPEN and case.assigned_to == world["a"]
    assert _decide(a, case).status_code == 302
    case.refresh_from_db()
    assert case.state == Case.State.DECIDED
    assert list(Decision.objects.filter(case=case).values_list("moderator__username", flat=True)) == ["mod-a"]
    assert _decide(b, case).status_code == 302 and Decision.objects.filter(case=case).count() == 1


def test_expired_lease_returns_case_to_the_queue(world):
    case = Case.objects.get(listing=world["top"])
    logged_in(world["a"]).get(f"/console/cases/{case.pk}/")
    b = logged_in(world["b"])
    assert list(b.get("/console/", {"state": "unassigned"}).context["page"]) == []
    assert b.get("/console/next/")["Location"] == "/console/"  # nothing B may take
    Case.objects.filter(pk=case.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))  # 15 min later
    assert expire_case_leases() == 1
    assert [c.pk for c in b.get("/console/", {"state": "unassigned"}).context["page"]] == [case.pk]
    assert b.get("/console/next/")["Location"] == f"/console/cases/{case.pk}/"
    assert b.get(f"/console/cases/{case.pk}/").context["i_hold_lease"]


def test_decision_opens_next_case_and_shows_in_history(world):
    second = scanned_listing("L-2", "S-2", score=0.7, brand=world["brand"], ref=world["ref"])
    case = Case.objects.get(listing=world["top"])
    a = logged_in(world["a"])
    a.get(f"/console/cases/{case.pk}/")
    response = _decide(a, case, reason="trademark_misuse", note="logo on the box")
    assert response["Location"] == "/console/next/"
    assert a.get("/console/next/")["Location"] == f"/console/cases/{Case.objects.get(listing=second).pk}/"
    page = a.get(f"/console/cases/{case.pk}/")
    history = page.context["history"]
    assert [(d.action, d.reason_code, d.note) for d in history["decisions"]] == [
        ("takedown", "trademark_misuse", "logo on the box")]
    assert {"case.takedown", "listing.status", "case.claim"} <= {e.action for e in history["events"]}
    assert world["top"].__class__.objects.get(pk=world["top"].pk).status == Listing.Status.REMOVED


def test_reason_code_must_fit_the_action(world):
    case = Case.objects.get(listing=world["top"])
    a = logged_in(world["a"])
    a.get(f"/console/cases/{case.pk}/")
    _decide(a, case, action="takedown", reason="genuine")
    _decide(a, case, action="dismiss", reason="counterfeit")
    assert Case.objects.get(pk=case.pk).state == Case.State.OPEN and not Decision.objects.exists()


def test_escalate_then_lead_decides(world):
    case = Case.objects.get(listing=world["top"])
    a, lead = logged_in(world["a"]), logged_in(world["lead"])
    a.get(f"/console/cases/{case.pk}/")
    _decide(a, case, action="escalate", reason="", note="needs a lead")
    case.refresh_from_db()
    assert case.state == Case.State.ESCALATED and case.assigned_to is None
    page = a.get(f"/console/cases/{case.pk}/")
    assert b'data-testid="locked"' in page.content  # a moderator may look but not decide
    _decide(a, case)
    assert Case.objects.get(pk=case.pk).state == Case.State.ESCALATED
    lead.get(f"/console/cases/{case.pk}/")
    _decide(lead, case, action="dismiss", reason="genuine")
    case.refresh_from_db()
    assert case.state == Case.State.DECIDED
    assert list(case.decisions.order_by("created_at").values_list("action", "moderator__username")) == [
        ("escalate", "mod-a"), ("dismiss", "lead")]


def test_bulk_takedown_of_a_seller_confirms_the_count_and_skips_held_cases(world):
    brand, ref = world["brand"], world["ref"]
    mine = Case.objects.get(listing=world["top"])
    others = [scanned_listing(f"L-s{n}", "S-1", score=0.6, brand=brand, ref=ref, image_color=(n * 40, 9, 9),
                              pdq=f"{n}0" * 32) for n in range(3)]
    scanned_listing("L-other", "S-2", score=0.9, brand=brand, ref=ref)
    held = Case.objects.get(listing=others[0])
    logged_in(world["b"]).get(f"/console/cases/{held.pk}/")  # B holds one of them
    a = logged_in(world["a"])
    a.get(f"/console/cases/{mine.pk}/")
    confirm = a.get(f"/console/cases/{mine.pk}/bulk/", {"scope": "seller", "action": "takedown"})
    assert confirm.context["count"] == 4
    assert b'data-testid="bulk-count">4<' in confirm.content
    response = a.post(f"/console/cases/{mine.pk}/bulk/", {
        "scope": "seller", "action": "takedown", "reason_code": "counterfeit", "ids": confirm.context["ids"],
        "confirm": "1"})
    assert response.status_code == 302
    states = dict(Case.objects.values_list("listing__listing_key", "state"))
    assert states == {"L-1": "decided", "L-s0": "open", "L-s1": "decided", "L-s2": "decided", "L-other": "open"}
    summary = AuditEvent.objects.get(action="case.bulk_takedown")
    assert summary.object_id == str(mine.pk) and len(summary.after["decided"]) == 3
    assert summary.after["skipped"] == [held.pk]
    assert AuditEvent.objects.filter(action="case.takedown").count() == 3


def test_bulk_by_shared_image_decides_only_the_confirmed_cases(world):
    brand, ref = world["brand"], world["ref"]
    mine = Case.objects.get(listing=world["top"])
    twin = scanned_listing("L-twin", "S-7", score=0.6, brand=brand, ref=ref)  # same image as L-1
    scanned_listing("L-alone", "S-8", score=0.6, brand=brand, ref=ref, image_color=(1, 2, 3), pdq="99" * 32)
    a = logged_in(world["a"])
    a.get(f"/console/cases/{mine.pk}/")
    confirm = a.get(f"/console/cases/{mine.pk}/bulk/", {"scope": "image", "action": "dismiss"})
    assert confirm.context["count"] == 2
    late = scanned_listing("L-late", "S-9", score=0.6, brand=brand, ref=ref)  # appears after the confirmation
    a.post(f"/console/cases/{mine.pk}/bulk/", {"scope": "image", "action": "dismiss", "reason_code": "genuine",
                                               "ids": confirm.context["ids"], "confirm": "1"})
    states = dict(Case.objects.values_list("listing__listing_key", "state"))
    assert states["L-1"] == states["L-twin"] == "decided"
    assert states["L-alone"] == "open" and Case.objects.get(listing=late).state == "open"
    assert Listing.objects.get(pk=twin.pk).status == Listing.Status.CLEARED


def _appealed_takedown(world, by):
    case = Case.objects.get(listing=world["top"])
    actions.claim_case(case.pk, acting_user=by)
    decision = actions.do_take_down(case.pk, acting_user=by)
    seller = world["top"].seller
    return actions.file_appeal(decision, seller=seller, statement="I bought these from the brand's outlet.")


def test_appeal_queue_and_own_decision_rule(world):
    appeal = _appealed_takedown(world, world["lead"])
    own, other = logged_in(world["lead"]), logged_in(world["lead2"])
    listing = own.get("/console/appeals/")
    assert [a.pk for a in listing.context["appeals"]] == [appeal.pk]
    page = own.get(f"/console/appeals/{appeal.pk}/")
    assert page.context["own_decision"] and b"the brand&#x27;s outlet" in page.content
    own.post(f"/console/appeals/{appeal.pk}/decide/", {"outcome": "reinstate"})
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.OPEN
    assert logged_in(world["a"]).get("/console/appeals/").status_code == 403  # moderators: not their queue
    page = other.get(f"/console/appeals/{appeal.pk}/")
    assert b"Acme replica" in page.content and page.context["rows"]  # the original evidence
    assert AuditEvent.objects.filter(action="seller.view", actor=world["lead2"], after__appeal=appeal.pk).exists()
    other.post(f"/console/appeals/{appeal.pk}/decide/", {"outcome": "reinstate", "note": "invoice checks out"})
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REINSTATED and appeal.decided_by == world["lead2"]
    assert Listing.objects.get(pk=world["top"].pk).status == Listing.Status.REINSTATED


def test_threshold_settings_are_one_audited_row(world):
    lead = logged_in(world["lead"])
    assert logged_in(world["a"]).get("/console/settings/").status_code == 403
    lead.post("/console/settings/", {"review_threshold": "0.4", "high_priority_threshold": "0.3",
                                    "override_reason": "test"})  # invalid
    assert DetectionPolicy.current().review_threshold == 0.5
    response = lead.post("/console/settings/", {"review_threshold": "0.42", "high_priority_threshold": "0.9",
                                               "override_reason": "fewer misses"})
    assert response.status_code == 302
    policy = DetectionPolicy.current()
    assert (policy.review_threshold, policy.high_priority_threshold) == (0.42, 0.9)
    event = AuditEvent.objects.get(action="policy.update")
    assert event.actor == world["lead"] and event.before["review_threshold"] == 0.5 and event.after["review_threshold"] == 0.42
    assert b"0.5 \xe2\x86\x92 0.42" in lead.get("/console/settings/").content
    # the queue's score bands follow the same row
    assert lead.get("/console/", {"band": "high"}).context["page"].object_list[0].listing == world["top"]


def test_forms_require_csrf(world):
    case = Case.objects.get(listing=world["top"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["a"])
    client.get(f"/console/cases/{case.pk}/")
    assert _decide(client, case).status_code == 403
    assert client.post(f"/console/cases/{case.pk}/bulk/", {"scope": "seller", "action": "takedown",
                                                           "confirm": "1", "ids": str(case.pk)}).status_code == 403
    assert Case.objects.get(pk=case.pk).state == Case.State.OPEN


def test_dashboard_charts(world):
    second = scanned_listing("L-2", "S-2", score=0.7, brand=world["brand"], ref=world["ref"], image_color=(0, 0, 0))
    for listing, action in ((world["top"], actions.do_take_down), (second, actions.do_dismiss)):
        case = Case.objects.get(listing=listing)
        actions.claim_case(case.pk, acting_user=world["a"])
        action(case.pk, acting_user=world["a"])
    assert logged_in(world["a"]).get("/console/dashboard/").status_code == 403
    response = logged_in(world["lead"]).get("/console/dashboard/")
    d = response.context["d"]
    assert (d["opened_total"], d["decided_total"], d["final_total"]) == (2, 2, 2)
    assert d["takedown_rate"] == 0.5 and d["median_minutes"] is not None
    assert [r["label"] for r in d["top_brands"]["rows"]] == ["Acme"]
    assert [r["label"] for r in d["top_sellers"]["rows"]] == ["S-1"]
    assert response.content.count(b"<svg") == 4
    assert b"<title>Acme: 1</title>" in response.content

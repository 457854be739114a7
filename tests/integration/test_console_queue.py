"""The console's queue and case page on PostgreSQL: order, filters, search, counters, pagination, query counts."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.actions import record_detection
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from ml.types import ScanResult
from tests.factories import logged_in, make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _rows(response) -> list[str]:
    return [case.listing.listing_key for case in response.context["page"]]


@pytest.fixture
def world(make_user):
    acme, bolt = make_brand("acme", "Acme"), make_brand("bolt", "Bolt")
    ref_a, ref_b = make_reference(acme, "ref-a"), make_reference(bolt, "ref-b", msrp=300)
    listings = {
        "L-hi": scanned_listing("L-hi", "S-1", score=0.95, brand=acme, ref=ref_a, title="Acme runner 1:1 replica",
                                signals={"img_sim": 0.93, "evasion_terms": 2.0}),
        "L-mid": scanned_listing("L-mid", "S-2", score=0.70, brand=bolt, ref=ref_b, title="Bolt watch",
                                 image_color=(10, 200, 10), pdq="cd" * 32, signals={"logo_sim": 0.8}),
        "L-low": scanned_listing("L-low", "S-1", score=0.55, brand=acme, ref=ref_a, title="Sneakers blue",
                                 image_color=(10, 10, 10), pdq="ef" * 32, signals={"mention_any": 1.0}),
    }
    moderator = make_user("mod", Role.MODERATOR)
    return {"acme": acme, "bolt": bolt, "moderator": moderator, "lead": make_user("lead", Role.LEAD), **listings}


def test_queue_orders_by_priority_and_counts(world):
    response = logged_in(world["moderator"]).get("/console/")
    assert response.status_code == 200
    assert _rows(response) == ["L-hi", "L-mid", "L-low"]
    counters = response.context["counters"]
    assert (counters["open"], counters["mine"], counters["escalated"], counters["appeals"]) == (3, 0, 0, 0)
    assert counters["oldest"] is not None and not counters["sla_breached"]


@pytest.mark.parametrize("params, expected", [
    ({"q": "L-mid"}, ["L-mid"]),                  # listing id
    ({"q": "S-1"}, ["L-hi", "L-low"]),           # seller id
    ({"q": "replica"}, ["L-hi"]),                 # title text
    ({"band": "high"}, ["L-hi"]),                 # ≥ high-priority threshold (0.85)
    ({"band": "medium"}, ["L-mid", "L-low"]),     # review ≤ score < high
    ({"signal": "logo"}, ["L-mid"]),
    ({"signal": "evasion"}, ["L-hi"]),
    ({"seller": "S-2"}, ["L-mid"]),
    ({"age": "1h"}, []),                          # all opened just now
])
def test_queue_filters(world, params, expected):
    assert _rows(logged_in(world["moderator"]).get("/console/", params)) == expected


def test_brand_age_and_assignment_filters(world):
    client = logged_in(world["moderator"])
    assert _rows(client.get("/console/", {"brand": world["bolt"].pk})) == ["L-mid"]
    Case.objects.filter(listing=world["L-low"]).update(opened_at=timezone.now() - timedelta(hours=30))
    assert _rows(client.get("/console/", {"age": "24h"})) == ["L-low"]
    assert client.get("/console/").context["counters"]["sla_breached"]  # the oldest case is past the 24 h SLA

    client.get(f"/console/cases/{Case.objects.get(listing=world['L-mid']).pk}/")  # opening claims it
    assert _rows(client.get("/console/", {"state": "mine"})) == ["L-mid"]
    assert _rows(client.get("/console/", {"state": "unassigned"})) == ["L-hi", "L-low"]
    assert client.get("/console/").context["counters"]["mine"] == 1


def test_queue_pagination_keeps_filters(world):
    brand = world["acme"]
    for n in range(30):
        scanned_listing(f"P-{n:02d}", "S-9", score=0.6 + n / 100, brand=brand, title=f"Acme page {n}")
    client = logged_in(world["moderator"])
    first = client.get("/console/", {"q": "S-9"})
    assert len(_rows(first)) == 25 and first.context["page"].paginator.count == 30
    assert "q=S-9" in first.context["next_qs"] and "page=2" in first.context["next_qs"]
    second = client.get("/console/?" + first.context["next_qs"])
    assert len(_rows(second)) == 5
    assert not set(_rows(first)) & set(_rows(second))


def test_queue_and_case_page_query_counts_do_not_grow_with_rows(world, django_assert_max_num_queries):
    client = logged_in(world["moderator"])
    with django_assert_max_num_queries(15):  # 12 + 3 for the page's thumbnails
        client.get("/console/")
    brand = world["acme"]
    ref = make_reference(brand, "ref-extra")
    for n in range(24):
        scanned_listing(f"Q-{n:02d}", f"S-q{n}", score=0.7, brand=brand, ref=ref, title=f"Acme {n}")
    with django_assert_max_num_queries(15):  # same bound with 27 rows on the page as with 3
        response = client.get("/console/")
    assert len(_rows(response)) == 25
    case = Case.objects.get(listing=world["L-hi"])
    with django_assert_max_num_queries(33):  # +1 since the blind second-review check (reviewer QA)
        response = client.get(f"/console/cases/{case.pk}/")
    assert response.status_code == 200


def test_case_page_shows_evidence_and_audits_the_seller_view(world):
    case = Case.objects.get(listing=world["L-hi"])
    response = logged_in(world["moderator"]).get(f"/console/cases/{case.pk}/")
    html = response.content.decode()
    assert '<mark class="m-brand"' in html and ">Acme</mark>" in html
    assert ">replica</mark>" in html and ">1:1</mark>" in html
    assert "21%</b> of MSRP" in html  # 25 of 120
    assert 'class="region"' not in html  # a whole-image match outlines no region (tests/browser/test_case_region_box.py)
    assert "A listing image looks like a catalog product photo" in html  # signals in plain words
    assert "The text uses words sellers of fakes use" in html
    assert response.context["card"]["open_cases_count"] == 1  # the seller's other open case (L-low)
    assert response.context["card"]["sharing_count"] == 0  # L-low has its own image
    assert AuditEvent.objects.filter(action="seller.view", object_id=str(world["L-hi"].seller.pk),
                                     actor=world["moderator"]).count() == 1
    assert AuditEvent.objects.filter(action="case.claim", object_id=str(case.pk)).count() == 1


def test_queue_ranks_newer_cases_up_and_rescans_keep_the_age(world, settings):
    settings.CASE_PRIORITY_HALF_LIFE = timedelta(hours=72)
    brand = world["acme"]
    for key, score in (("R-old", 0.8), ("R-strong-old", 0.99), ("R-new", 0.8)):
        scanned_listing(key, f"S-{key}", score=score, brand=brand, title=f"Rank {key}")
    # the first two were opened 12 hours ago (ranked as the action would have ranked them then)
    Case.objects.filter(listing__listing_key__in=["R-old", "R-strong-old"]).update(
        opened_at=timezone.now() - timedelta(hours=12))
    assert actions.rerank_open_cases() == 2  # only the two moved back: a stored priority is exactly what it ranks by
    rows = [k for k in _rows(logged_in(world["moderator"]).get("/console/", {"q": "Rank"}))]
    assert rows == ["R-strong-old", "R-new", "R-old"]  # newer beats older at equal score; 0.99 beats a newer 0.8

    old = Case.objects.get(listing__listing_key="R-old")
    before = (old.priority, old.opened_at)
    result = ScanResult(listing_id="R-old", score=0.8, brand_id=brand.brand_key, signals={}, explanation=[],
                         matches=[], image_vectors=np.ones((1, 8), dtype=np.float32), pdq_hashes=["ab" * 32],
                         model_version="test")
    record_detection(old.listing_id, result, bank_version=2)  # a rescan refreshes the case, not its age
    old.refresh_from_db()
    assert (old.priority, old.opened_at) == before and old.detection.bank_version == 2


def test_leads_get_escalations_then_appeals_then_the_queue(world):
    moderator, lead = world["moderator"], world["lead"]
    lead_client = logged_in(lead)
    hi, mid, low = (Case.objects.get(listing=world[k]) for k in ("L-hi", "L-mid", "L-low"))
    assert lead_client.get("/console/next/")["Location"] == f"/console/cases/{hi.pk}/"  # nothing else: the queue
    actions.claim_case(hi.pk, acting_user=moderator)
    decision = actions.do_take_down(hi.pk, acting_user=moderator)
    appeal = actions.file_appeal(decision, seller=world["L-hi"].seller, statement="Bought from the Acme outlet")
    assert lead_client.get("/console/next/")["Location"] == f"/console/appeals/{appeal.pk}/"
    actions.claim_case(mid.pk, acting_user=moderator)
    actions.do_escalate(mid.pk, acting_user=moderator)
    assert lead_client.get("/console/next/")["Location"] == f"/console/cases/{mid.pk}/"  # escalations come first
    assert logged_in(moderator).get("/console/next/")["Location"] == f"/console/cases/{low.pk}/"  # not a lead's work

    own = actions.do_take_down(mid.pk, acting_user=lead)
    own_appeal = actions.file_appeal(own, seller=world["L-mid"].seller, statement="Parallel import")
    actions.decide_appeal(appeal.pk, acting_user=lead, reinstate=False)
    assert own_appeal.status == "open"  # an appeal against the lead's own takedown is not theirs to decide
    assert lead_client.get("/console/next/")["Location"] == f"/console/cases/{low.pk}/"


def test_escalations_are_for_leads(world):
    moderator, lead = world["moderator"], world["lead"]
    case = Case.objects.get(listing=world["L-mid"])
    actions.claim_case(case.pk, acting_user=moderator)
    actions.do_escalate(case.pk, acting_user=moderator, note="brand says parallel import")
    mod_client, lead_client = logged_in(moderator), logged_in(lead)
    assert "L-mid" not in _rows(mod_client.get("/console/"))
    assert _rows(mod_client.get("/console/", {"state": "escalated"})) == ["L-hi", "L-low"]  # ignored for moderators
    lead_queue = lead_client.get("/console/")
    assert [c.listing.listing_key for c in lead_queue.context["escalations"]] == ["L-mid"]
    assert _rows(lead_client.get("/console/", {"state": "escalated"})) == ["L-mid"]
    # n (next case) takes a lead to the escalation first
    assert lead_client.get("/console/next/")["Location"] == f"/console/cases/{case.pk}/"

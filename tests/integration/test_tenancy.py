"""Marketplaces are tenants: ids resolve inside the caller's tenant, nothing of one tenant reaches another, and
nobody can use the system against someone else (issue #22's hostile drill, one regression test per finding)."""
import base64
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import SellerLink, TrustEvent
from tests.factories import jpeg_bytes, make_brand, make_reference, record_scan, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def market(make_user, name: str) -> tuple[APIClient, MarketplaceClient]:
    user = make_user(f"api-{name}", Role.API_CLIENT)
    client = MarketplaceClient.objects.create(name=f"Market {name}", user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api, client


def body(listing_id: str, seller_id: str, **extra) -> dict:
    image = base64.b64encode(jpeg_bytes()).decode()
    return {"listing_id": listing_id, "seller_id": seller_id, "title": "Sneakers", "price": "20.00",
            "images": [{"filename": "a.jpg", "content_base64": image}], **extra}


def sales(api, seller_id: str, count: int, report_id: str = "r-1"):
    period_end = (timezone.localdate() - timedelta(days=1)).isoformat()
    return api.post(f"/api/v1/sellers/{seller_id}/sales",
                    {"report_id": report_id, "count": count, "period_end": period_end}, format="json")


@pytest.fixture
def acme():
    brand = make_brand("acme", "Acme")
    return brand, make_reference(brand, "ref-a")


@pytest.fixture
def moderator(make_user):
    return make_user("mod", Role.MODERATOR)


def test_trust_cannot_be_laundered_through_another_marketplace(make_user, acme, moderator):
    """Finding 1: client B posted under A's seller id and reported a million sales for it."""
    brand, ref = acme
    api_a, client_a = market(make_user, "A")
    api_b, _ = market(make_user, "B")
    for n in range(4):
        listing = scanned_listing(f"L-{n}", "S00009", score=0.95, brand=brand, ref=ref, client=client_a)
        moderation.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator, rebuild=False)
    seller_a = Seller.objects.get(client=client_a, seller_key="S00009")
    before = seller_a.trust_rating

    assert sales(api_b, "S00009", 1000).status_code == 404  # B never registered it: A's seller is not found
    assert api_b.post("/api/v1/listings", body("B-1", "S00009"), format="json").status_code == 201
    assert sales(api_b, "S00009", 1_000_000).status_code == 201  # B's own seller of that id
    seller_a.refresh_from_db()
    assert seller_a.trust_rating == before
    assert not TrustEvent.objects.filter(seller=seller_a, kind="clean_sales").exists()
    seller_b = Seller.objects.get(client__name="Market B", seller_key="S00009")
    assert seller_b.pk != seller_a.pk and seller_b.prior_takedowns == 0 and seller_a.prior_takedowns == 4
    assert api_b.get("/api/v1/listings/L-0").status_code == 404


def test_notices_go_to_the_registering_tenants_address(make_user, acme, moderator):
    """Finding 2: B registered X-1 first with its own e-mail; A's takedown notice for its X-1 went to B."""
    brand, ref = acme
    api_a, client_a = market(make_user, "A")
    api_b, _ = market(make_user, "B")
    assert api_b.post("/api/v1/listings", body("B-1", "X-1", seller_email="attacker@b.example"),
                      format="json").status_code == 201
    assert api_a.post("/api/v1/listings", body("A-1", "X-1", seller_email="owner@a.example"),
                      format="json").status_code == 201
    listing = Listing.objects.get(client=client_a, listing_key="A-1")
    record_scan(listing, score=0.95, brand=brand, ref=ref)
    moderation.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator, rebuild=False)
    notices = Notification.objects.filter(listing=listing)
    assert notices.exists() and set(notices.values_list("email_to", flat=True)) == {"owner@a.example"}
    assert not Notification.objects.filter(email_to="attacker@b.example").exists()


def test_the_same_listing_id_at_two_clients_is_no_server_error(make_user):
    """Finding 4: a moderator's GET /api/v1/listings/M-1 answered 500 (MultipleObjectsReturned)."""
    api_a, _ = market(make_user, "A")
    api_b, _ = market(make_user, "B")
    for api in (api_a, api_b):
        assert api.post("/api/v1/listings", body("M-1", "S-1"), format="json").status_code == 201
    staff = APIClient()
    staff.force_authenticate(make_user("mod", Role.MODERATOR))
    ambiguous = staff.get("/api/v1/listings/M-1")
    assert ambiguous.status_code == 409 and ambiguous.json()["clients"] == ["Market A", "Market B"]
    assert staff.get("/api/v1/listings/M-1", {"client": "Market B"}).status_code == 200
    assert api_a.get("/api/v1/listings/M-1").json()["listing_id"] == "M-1"


def test_a_duplicate_listing_id_is_a_clean_409(make_user):
    api, client = market(make_user, "A")
    assert api.post("/api/v1/listings", body("D-1", "S-1"), format="json").status_code == 201
    again = api.post("/api/v1/listings", body("D-1", "S-new"), format="json")
    assert again.status_code == 409 and "already submitted" in again.json()["listing_id"][0]
    assert not Seller.objects.filter(seller_key="S-new").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_intake_leaves_no_orphans(make_user):
    """Finding 5: 12 concurrent POSTs of one listing id with new seller ids left 11 orphan sellers and events."""
    api, _ = market(make_user, "A")
    token = api._credentials["HTTP_AUTHORIZATION"]
    barrier, answers = threading.Barrier(12), []

    def post(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        barrier.wait()
        try:
            answers.append(client.post("/api/v1/listings", body("RACE-1", f"S-new-{n}"), format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [201] + [409] * 11
    listing = Listing.objects.get(listing_key="RACE-1")
    assert list(Seller.objects.values_list("pk", flat=True)) == [listing.seller_id]
    assert list(TrustEvent.objects.values_list("seller_id", "kind")) == [(listing.seller_id, "history")]


def test_a_storage_fault_leaves_no_seller_behind(make_user, settings, tmp_path):
    """Finding 5, second half: a media-storage fault (500) left its new seller and that seller's event."""
    api, _ = market(make_user, "A")
    blocked = tmp_path / "media-is-a-file"
    blocked.write_text("not a folder")
    settings.MEDIA_ROOT = blocked  # writing any upload fails: a real storage fault
    api.raise_request_exception = False
    answer = api.post("/api/v1/listings", body("F-1", "S-fault"), format="json")
    assert answer.status_code == 500
    assert not Seller.objects.exists() and not TrustEvent.objects.exists() and not Listing.objects.exists()


def test_prior_takedowns_match_the_history(acme, moderator, make_user):
    """Finding 6: a seller with 4 takedowns kept prior_takedowns 0 (it feeds the scorer and the seller card)."""
    brand, ref = acme
    decisions = []
    for n in range(4):
        listing = scanned_listing(f"P-{n}", "S-p", score=0.95, brand=brand, ref=ref)
        decisions.append(moderation.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator,
                                                 rebuild=False))
    seller = Seller.objects.get(seller_key="S-p")
    assert seller.prior_takedowns == 4 == trust_actions.takedowns_from_history(seller)
    appeal = moderation.file_appeal(decisions[0], seller=seller, statement="Bought from the brand's own shop.")
    moderation.decide_appeal(appeal.pk, acting_user=make_user("lead", Role.LEAD), reinstate=True)
    seller.refresh_from_db()
    assert seller.prior_takedowns == 3 == trust_actions.takedowns_from_history(seller)
    from anticounterfeit.detection.scanning import listing_input
    assert listing_input(Listing.objects.get(listing_key="P-1")).seller.prior_takedowns == 3  # what the scorer reads


def test_copied_photos_do_not_strike_bystanders(acme, moderator):
    """Finding 3: a counterfeit re-using other sellers' genuine photos linked and lowered 8 innocent sellers."""
    brand, ref = acme
    pdqs = [f"{n:02x}" * 32 for n in range(1, 9)]
    bystanders = [scanned_listing(f"G-{n}", f"S-honest-{n}", score=0.1, pdq=pdq) for n, pdq in enumerate(pdqs)]
    before = {s.pk: s.trust_rating for s in Seller.objects.all()}
    fake = accept_validated({"listing_id": "FAKE", "seller_id": "S-fake", "title": "Acme", "price": 10,
                             "images": [{"filename": f"{n}.jpg", "data": jpeg_bytes((n, 0, 0))} for n in range(8)]},
                            enqueue=False)
    record_scan(fake, score=0.95, brand=brand, ref=ref)
    for image, pdq in zip(fake.images.order_by("position"), pdqs, strict=True):
        image.pdq = pdq
        image.save(update_fields=["pdq"])
    decision = moderation.do_take_down(Case.objects.get(listing=fake).pk, acting_user=moderator, rebuild=False)
    trust_actions.link_sellers_for_decision(decision.pk)
    assert SellerLink.objects.filter(state="suggested").count() >= 1  # evidence for the moderator ...
    for seller in Seller.objects.exclude(seller_key="S-fake"):
        assert seller.trust_rating == before[seller.pk], seller.seller_key  # ... and no strike
    assert not TrustEvent.objects.filter(kind="linked_seller").exists()
    assert {b.seller.trust_tier for b in bystanders} == {Seller.objects.get(pk=bystanders[0].seller_id).trust_tier}


def test_stock_and_catalog_photos_are_no_evidence_of_a_link(acme, moderator, settings):
    brand, ref = acme
    settings.TRUST = {**settings.TRUST, "LINK_COMMON_IMAGE_SELLERS": 4}
    stock = "5a" * 32  # the marketplace's stock photo: four sellers show it
    for n in range(3):
        scanned_listing(f"stock-{n}", f"S-stock-{n}", score=0.1, pdq=stock)
    fake = scanned_listing("FAKE-stock", "S-fake", score=0.95, brand=brand, ref=ref, pdq=stock)
    trust_actions.link_sellers_for_decision(moderation.do_take_down(
        Case.objects.get(listing=fake).pk, acting_user=moderator, rebuild=False).pk)
    assert not SellerLink.objects.exists()

    catalog = "3c" * 32  # the brand's own catalog photo (the scan matched it to the reference by PDQ)
    scanned_listing("reseller", "S-reseller", score=0.1, pdq=catalog)
    fake2 = accept_validated({"listing_id": "FAKE-cat", "seller_id": "S-fake2", "title": "Acme",
                              "images": [{"filename": "c.jpg", "data": jpeg_bytes()}]}, enqueue=False)
    record_scan(fake2, score=0.95, brand=brand, ref=ref, pdq=catalog, catalog_copy=True)
    trust_actions.link_sellers_for_decision(moderation.do_take_down(
        Case.objects.get(listing=fake2).pk, acting_user=moderator, rebuild=False).pk)
    assert not SellerLink.objects.exists()


def test_linking_sellers_across_marketplaces_is_an_explicit_staff_action(make_user, moderator):
    _, client_a = market(make_user, "A")
    _, client_b = market(make_user, "B")
    a = accept_validated({"listing_id": "L", "seller_id": "same-id", "title": "Mug"}, client=client_a).seller
    b = accept_validated({"listing_id": "L", "seller_id": "same-id", "title": "Mug"}, client=client_b).seller
    assert a.pk != b.pk and not a.identity_links.exists()  # a colliding id links nobody
    with pytest.raises(PermissionError):
        trust_actions.link_same_seller(a, b, acting_user=client_a.user)
    link = trust_actions.link_same_seller(b, a, acting_user=moderator, note="same company registry number")
    assert (link.seller, link.other) == (a, b)
    from anticounterfeit.core.models import AuditEvent
    assert AuditEvent.objects.filter(action="seller.identity_link", actor_name="mod").exists()


def test_a_seller_downloads_their_own_appeal_file_and_nobody_else_does(acme, moderator, make_user, client):
    """Finding 8: a seller requesting the evidence file of their own appeal got 404."""
    brand, ref = acme
    listing = scanned_listing("AP-1", "S-appeal", score=0.95, brand=brand, ref=ref)
    decision = moderation.do_take_down(Case.objects.get(listing=listing).pk, acting_user=moderator, rebuild=False)
    appeal = moderation.file_appeal(decision, seller=listing.seller, statement="Invoice attached.",
                                    evidence=ContentFile(b"%PDF-1.4 invoice", name="invoice.pdf"))
    url = f"/media/{appeal.evidence.name}"
    other = scanned_listing("AP-2", "S-other", score=0.1)
    expected = {make_user("seller", Role.SELLER, seller=listing.seller): 200,
                make_user("other-seller", Role.SELLER, seller=other.seller): 404,
                make_user("owner", Role.BRAND_OWNER, brands=[brand]): 404,
                make_user("api", Role.API_CLIENT): 404,
                moderator: 200}
    for user, status in expected.items():
        client.force_login(user)
        answer = client.get(url)
        assert answer.status_code == status, user.username
        if status == 200:
            assert b"".join(answer.streaming_content) == b"%PDF-1.4 invoice"

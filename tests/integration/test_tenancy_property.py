"""Property test: three marketplace API clients send interleaved requests with colliding ids (seller
registration, listings, sales reports, takedowns and appeals, listing reads and webhooks). Whatever the
interleaving, no client reads, changes or rates another client's seller; notices go only to the registering
tenant's address; every rating equals the recomputation from the seller's own tenant's events."""
import base64
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification, WebhookDelivery
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import CleanSalesReport, TrustEvent
from tests.factories import jpeg_bytes, record_scan

pytestmark = [pytest.mark.services, pytest.mark.django_db]
TENANTS = ("A", "B", "C")
SELLER_IDS = ("S-1", "S-2", "X-1")  # every client uses the same few ids: collisions are the point
LISTING_IDS = ("L-1", "L-2", "L-3")
IMAGE = base64.b64encode(jpeg_bytes()).decode()

tenant = st.sampled_from(TENANTS)
operation = st.one_of(
    st.tuples(st.just("list"), tenant, st.sampled_from(LISTING_IDS), st.sampled_from(SELLER_IDS)),
    st.tuples(st.just("sales"), tenant, st.sampled_from(SELLER_IDS), st.integers(1, 1_000_000)),
    st.tuples(st.just("takedown"), tenant, st.sampled_from(LISTING_IDS)),
    st.tuples(st.just("appeal"), tenant, st.sampled_from(LISTING_IDS)),
    st.tuples(st.just("read"), tenant, st.sampled_from(LISTING_IDS)),
)


@pytest.fixture
def parties(make_user):
    apis, clients = {}, {}
    for k in TENANTS:
        user = make_user(f"api-{k}", Role.API_CLIENT)
        clients[k] = MarketplaceClient.objects.create(name=f"Market {k}", user=user,
                                                      webhook_url=f"https://hooks.{k.lower()}.example/ac")
        apis[k] = APIClient()
        apis[k].credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return {"apis": apis, "clients": clients, "moderator": make_user("mod", Role.MODERATOR),
            "lead": make_user("lead", Role.LEAD)}


class Model:
    """What each tenant sent: its sellers' e-mails (the first registration wins) and its listings' sellers."""

    def __init__(self):
        self.emails: dict[tuple[str, str], str] = {}
        self.listings: dict[tuple[str, str], str] = {}
        self.reports = 0


def step(parties, model: Model, op: tuple) -> None:
    kind, k = op[0], op[1]
    api, client = parties["apis"][k], parties["clients"][k]
    if kind == "list":
        listing_id, seller_id = op[2], op[3]
        email = f"{seller_id.lower()}@{k.lower()}.example"
        answer = api.post("/api/v1/listings", {
            "listing_id": listing_id, "seller_id": seller_id, "seller_email": email, "title": "Sneakers",
            "price": "20.00", "images": [{"filename": "a.jpg", "content_base64": IMAGE}]}, format="json")
        if (k, listing_id) in model.listings:
            assert answer.status_code == 409, answer.content
            return
        assert answer.status_code in (201, 400), answer.content  # 400: the seller is restricted
        if answer.status_code == 201:
            model.listings[(k, listing_id)] = seller_id
            model.emails.setdefault((k, seller_id), email)
            assert answer.json()["seller_id"] == seller_id
    elif kind == "sales":
        seller_id, count = op[2], op[3]
        model.reports += 1
        period_end = (timezone.localdate() - timedelta(days=1)).isoformat()
        answer = api.post(f"/api/v1/sellers/{seller_id}/sales",
                          {"report_id": f"r-{model.reports}", "count": count, "period_end": period_end}, format="json")
        assert answer.status_code == (201 if (k, seller_id) in model.emails else 404), answer.content
    elif kind == "takedown":
        listing = Listing.objects.filter(client=client, listing_key=op[2]).first()
        if listing is None or listing.status == Listing.Status.REMOVED:
            return
        if not Case.objects.open().filter(listing=listing).exists():
            record_scan(listing, score=0.95)
        case = Case.objects.open().filter(listing=listing).first()
        if case is not None:
            moderation.do_take_down(case.pk, acting_user=parties["moderator"], rebuild=False)
    elif kind == "appeal":
        listing = Listing.objects.filter(client=client, listing_key=op[2], status=Listing.Status.REMOVED).first()
        decision = listing and listing.cases.order_by("-pk").first().decisions.order_by("-pk").first()
        if decision is None or decision.appeals.filter(status="open").exists():
            return
        appeal = moderation.file_appeal(decision, seller=listing.seller, statement="Bought from the brand.")
        moderation.decide_appeal(appeal.pk, acting_user=parties["lead"], reinstate=True)
    elif kind == "read":
        answer = api.get(f"/api/v1/listings/{op[2]}")
        if (k, op[2]) in model.listings:
            assert answer.status_code == 200 and answer.json()["seller_id"] == model.listings[(k, op[2])]
        else:
            assert answer.status_code == 404  # another client's listing of the same id is not found


def check_invariants(parties, model: Model) -> None:
    clients = {c.pk: k for k, c in parties["clients"].items()}
    for seller in Seller.objects.select_related("client"):
        k = clients[seller.client_id]
        # A seller exists only where its own tenant registered it, with that tenant's e-mail.
        assert model.emails[(k, seller.seller_key)] == seller.email
        assert set(seller.listings.values_list("client_id", flat=True)) <= {seller.client_id}
        assert seller.trust_rating == trust_actions.rating_for(seller).score  # recomputed from its own events
        assert seller.prior_takedowns == trust_actions.takedowns_from_history(seller)
    assert Seller.objects.count() == len(model.emails)
    for notice in Notification.objects.filter(seller__isnull=False).select_related("seller"):
        assert notice.email_to == notice.seller.email  # only the registering tenant's address
        if notice.listing_id:
            assert notice.listing.client_id == notice.seller.client_id
    for report in CleanSalesReport.objects.select_related("seller"):
        assert report.client_id == report.seller.client_id  # nobody rates another client's seller
        assert report.event.seller_id == report.seller_id
    for delivery in WebhookDelivery.objects.all():  # webhooks reach only the tenant whose listing or seller it is
        owner = Listing.objects.filter(client=delivery.client, listing_key=delivery.payload["listing_id"]).exists() \
            if delivery.payload.get("listing_id") else Seller.objects.filter(
                client=delivery.client, seller_key=delivery.payload["seller_id"]).exists()
        assert owner, delivery.payload
    assert not TrustEvent.objects.exclude(seller__client__in=list(parties["clients"].values())).exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_tenants_never_reach_each_other(parties, operations):
    model = Model()
    with transaction.atomic():  # each example starts from the same three empty tenants
        for op in operations:
            step(parties, model, op)
        check_invariants(parties, model)
        transaction.set_rollback(True)

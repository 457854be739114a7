"""Clean sales reported by the marketplace (POST /api/v1/sellers/{id}/sales) and account age credited by beat: both
become TrustEvents, so the rating stays a function of history (recompute == incremental)."""
import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.models import Seller
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import CleanSalesReport, TrustEvent
from tests.factories import jpeg_bytes, token_client

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def api_for(make_user, name: str) -> tuple[APIClient, MarketplaceClient]:
    user = make_user(name, Role.API_CLIENT)
    market = MarketplaceClient.objects.create(name=f"Market {name}", user=user)
    return token_client(user), market


def listing_for(market, listing_id: str, seller_id: str):
    return accept_validated({"listing_id": listing_id, "seller_id": seller_id, "title": "Sneakers", "price": 20,
                             "images": [{"filename": "a.jpg", "data": jpeg_bytes()}]}, client=market, enqueue=False)


@pytest.fixture
def markets(make_user):
    api_a, market_a = api_for(make_user, "market-a")
    api_b, market_b = api_for(make_user, "market-b")
    listing_for(market_a, "L-a1", "S-a")
    listing_for(market_b, "L-b1", "S-b")
    return {"a": api_a, "b": api_b, "market_a": market_a, "market_b": market_b}


def report(api, seller_id="S-a", **body):
    payload = {"report_id": "r-1", "count": 250, "period_end": (timezone.localdate() - datetime.timedelta(days=3)).isoformat()}
    payload.update(body)
    return api.post(f"/api/v1/sellers/{seller_id}/sales", payload, format="json")


def rating(key: str) -> int:
    return Seller.objects.get(seller_key=key).trust_rating


def test_clean_sales_raise_the_rating_once_per_report_id(markets):
    before = rating("S-a")
    answer = report(markets["a"])
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["report_id"], body["seller_id"], body["count"]) == ("r-1", "S-a", 250)
    assert rating("S-a") > before
    event = TrustEvent.objects.get(seller__seller_key="S-a", kind="clean_sales")
    assert event.good == 2.5 and event.note == "250 sales" and CleanSalesReport.objects.get().event == event
    period_end = timezone.localdate() - datetime.timedelta(days=3)
    assert timezone.localtime(event.occurred_at).date() == period_end  # dated at the end of the period (decays from there)
    audit = AuditEvent.objects.get(action="trust.event", object_id=str(event.seller_id))
    assert audit.actor_name == "market-a" and audit.after["event"] == "clean_sales"

    after = rating("S-a")
    again = report(markets["a"])  # a retry of the same request
    assert again.status_code == 200 and again.json() == body
    assert TrustEvent.objects.filter(kind="clean_sales").count() == 1 and rating("S-a") == after
    conflict = report(markets["a"], count=999)
    assert conflict.status_code == 409 and "report_id 'r-1'" in conflict.json()["report_id"][0]
    assert report(markets["a"], report_id="r-2", count=100).status_code == 201
    assert TrustEvent.objects.filter(kind="clean_sales").count() == 2

    incremental = {s.seller_key: (s.trust_rating, s.trust_tier) for s in Seller.objects.all()}
    Seller.objects.update(trust_rating=0, trust_tier="")
    call_command("recompute_trust")
    assert {s.seller_key: (s.trust_rating, s.trust_tier) for s in Seller.objects.all()} == incremental


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"count": -5}, "count", "greater than or equal to 1"),
    ({"count": 0}, "count", "greater than or equal to 1"),
    ({"count": 10**12}, "count", "less than or equal to"),
    ({"count": "many"}, "count", "valid integer"),
    ({"count": 1.5}, "count", "valid integer"),
    ({"period_end": "2020-13-45"}, "period_end", "wrong format"),
    ({"period_end": "2999-01-01"}, "period_end", "in the future"),
    ({"period_end": "2001-01-01"}, "period_end", "older than"),
    ({"report_id": "no spaces allowed"}, "report_id", "report_id must be"),
    ({"report_id": ""}, "report_id", "blank"),
])
def test_bad_reports_get_a_400_naming_the_field(markets, body, field, words):
    answer = report(markets["a"], **body)
    assert answer.status_code == 400, answer.content
    errors = answer.json()
    assert list(errors) == [field] and words in errors[field][0], errors
    assert not TrustEvent.objects.filter(kind="clean_sales").exists()


def test_missing_fields_are_named(markets):
    answer = markets["a"].post("/api/v1/sellers/S-a/sales", {}, format="json")
    assert answer.status_code == 400 and set(answer.json()) == {"report_id", "count", "period_end"}


def test_only_the_clients_own_sellers_can_be_reported(markets, make_user):
    assert report(markets["a"], seller_id="S-nobody").status_code == 404  # unknown seller
    foreign = report(markets["a"], seller_id="S-b")  # exists, but sells through market B
    assert foreign.status_code == 404 and "S-b" in foreign.json()["detail"]
    assert report(markets["b"], seller_id="S-b").status_code == 201
    assert report(markets["b"], seller_id="S-a").status_code == 404
    assert not TrustEvent.objects.filter(seller__seller_key="S-a", kind="clean_sales").exists()
    # The same report id is the client's own namespace: market A may use "r-1" too.
    assert report(markets["a"], seller_id="S-a").status_code == 201
    moderator = APIClient()
    moderator.force_authenticate(make_user("mod", Role.MODERATOR))
    assert report(moderator, seller_id="S-a", report_id="r-9").status_code == 403


def test_account_age_is_credited_monthly_as_events_and_recomputes_the_same(markets):
    seller = Seller.objects.get(seller_key="S-a")
    Seller.objects.filter(pk=seller.pk).update(created_at=timezone.now() - datetime.timedelta(days=95))
    seller.refresh_from_db()
    before = seller.trust_rating
    assert trust_actions.credit_account_age(seller.pk) == 3  # months 1-3 fell due
    events = list(TrustEvent.objects.filter(seller=seller, kind="account_age").order_by("occurred_at"))
    assert [e.note for e in events] == ["month 1", "month 2", "month 3"]
    assert [e.occurred_at for e in events] == [seller.created_at + datetime.timedelta(days=30 * n) for n in (1, 2, 3)]
    assert rating("S-a") > before
    assert trust_actions.credit_account_age(seller.pk) == 0  # idempotent: nothing new fell due
    audit = AuditEvent.objects.get(action="trust.account_age", object_id=str(seller.pk))
    assert audit.after["periods"] == [1, 2, 3] and audit.actor_name == "system"
    # A month later the next credit falls due.
    later = timezone.now() + datetime.timedelta(days=30)
    assert trust_actions.credit_account_age(seller.pk, now=later) == 1
    assert TrustEvent.objects.filter(seller=seller, kind="account_age").count() == 4

    incremental = rating("S-a")
    Seller.objects.update(trust_rating=0, trust_tier="")
    call_command("recompute_trust", seller="S-a")
    assert abs(rating("S-a") - incremental) <= 1  # incremental was computed "a month later": decay differs a hair
    trust_actions.refresh_rating(Seller.objects.get(pk=seller.pk), now=later)
    assert rating("S-a") == incremental


def test_account_age_beat_works_in_bounded_slices(markets):
    from workers.trust import credit_account_age

    old = timezone.now() - datetime.timedelta(days=65)
    for key in ("S-c", "S-d", "S-e"):
        listing_for(markets["market_a"], f"L-{key}", key)
    Seller.objects.exclude(seller_key="S-b").update(created_at=old)  # S-b is new: nothing due
    added, next_pk = trust_actions.credit_account_age_batch(limit=2)
    assert added == 4 and next_pk is not None  # two sellers x two months; more sellers remain
    added, next_pk = trust_actions.credit_account_age_batch(after_pk=next_pk, limit=2)
    assert added == 4 and next_pk is not None
    assert trust_actions.credit_account_age_batch(after_pk=next_pk, limit=2) == (0, None)
    assert credit_account_age() == 0  # what beat runs: everything is already credited
    counts = {s.seller_key: s.trust_events.filter(kind="account_age").count() for s in Seller.objects.all()}
    assert counts == {"S-a": 2, "S-b": 0, "S-c": 2, "S-d": 2, "S-e": 2}


def test_a_long_gap_is_credited_only_for_the_latest_periods(markets):
    seller = Seller.objects.get(seller_key="S-a")
    Seller.objects.filter(pk=seller.pk).update(created_at=timezone.now() - datetime.timedelta(days=30 * 26 + 1))
    assert trust_actions.credit_account_age(seller.pk) == 24  # months 3-26: older ones would have decayed away
    notes = set(TrustEvent.objects.filter(seller=seller, kind="account_age").values_list("note", flat=True))
    assert "month 26" in notes and "month 2" not in notes
    assert trust_actions.credit_account_age_batch() == (0, None)  # nothing due until month 27

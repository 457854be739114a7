"""Takedown → trust event and rating; recompute equals the incremental rating; each party sees only its own."""
import pytest
from django.core.management import call_command
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from anticounterfeit.trust.models import TrustEvent
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def world(make_user):
    acme, other = make_brand("acme", "Acme"), make_brand("zenit", "Zenit")
    ref_a, ref_b = make_reference(acme, "ref-a"), make_reference(other, "ref-b")
    fake = scanned_listing("L-a", "S-1", score=0.95, brand=acme, ref=ref_a)
    fake_b = scanned_listing("L-b", "S-2", score=0.9, brand=other, ref=ref_b)
    moderator = make_user("mod", Role.MODERATOR)
    return {"acme": acme, "other": other, "fake": fake, "fake_b": fake_b, "moderator": moderator}


def test_takedown_moves_rating_and_recompute_matches(world):
    fake, moderator = world["fake"], world["moderator"]
    seller = fake.seller
    before = seller.trust_rating
    case = Case.objects.get(listing=fake)
    decision = actions.do_take_down(case.pk, acting_user=moderator, reason_code="counterfeit")
    seller.refresh_from_db()
    assert seller.trust_rating < before
    event = TrustEvent.objects.get(seller=seller, kind=TrustEvent.Kind.TAKEDOWN)
    assert event.decision == decision and event.rating_after == seller.trust_rating
    incremental = seller.trust_rating
    Seller.objects.filter(pk=seller.pk).update(trust_rating=0, trust_tier="")
    call_command("recompute_trust", seller=seller.seller_key)
    seller.refresh_from_db()
    assert seller.trust_rating == incremental


def test_decided_case_cannot_be_decided_twice_and_lease_blocks_others(world, make_user):
    case = Case.objects.get(listing=world["fake"])
    other = make_user("mod2", Role.MODERATOR)
    actions.claim_case(case.pk, acting_user=world["moderator"])
    with pytest.raises(actions.CaseUnavailable):
        actions.do_dismiss(case.pk, acting_user=other)
    actions.do_dismiss(case.pk, acting_user=world["moderator"], reason_code="genuine")
    with pytest.raises(actions.CaseUnavailable):
        actions.do_take_down(case.pk, acting_user=world["moderator"])
    assert Listing.objects.get(pk=world["fake"].pk).status == Listing.Status.CLEARED


def test_seller_sees_only_own_notices_and_rating(world, make_user, client):
    actions.do_take_down(Case.objects.get(listing=world["fake"]).pk, acting_user=world["moderator"])
    actions.do_take_down(Case.objects.get(listing=world["fake_b"]).pk, acting_user=world["moderator"])
    seller_user = make_user("seller1", Role.SELLER, seller=world["fake"].seller)
    client.force_login(seller_user)
    page = client.get(reverse("notifications:center"))
    assert page.status_code == 200
    assert world["fake"].title[:20] in page.content.decode()
    assert str(world["fake"].seller.trust_rating) in page.content.decode()
    own = Notification.objects.get(seller=world["fake"].seller)
    foreign = Notification.objects.get(seller=world["fake_b"].seller)
    assert client.get(reverse("notifications:notice", args=[own.pk])).status_code == 200
    assert client.get(reverse("notifications:notice", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("moderation:queue")).status_code == 403


def test_brand_owner_sees_only_own_brand(world, make_user, client):
    owner = make_user("acme-owner", Role.BRAND_OWNER, brands=[world["acme"]])
    client.force_login(owner)
    page = client.get(reverse("catalog:portal")).content.decode()
    assert "L-a" in page and "L-b" not in page
    foreign_image = world["fake_b"].images.first().image.url
    own_image = world["fake"].images.first().image.url
    assert client.get(own_image).status_code == 200
    assert client.get(foreign_image).status_code == 404
    assert client.get(reverse("moderation:case", args=[Case.objects.get(listing=world["fake"]).pk])).status_code == 403

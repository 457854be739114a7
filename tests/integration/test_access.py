"""Every role against every kind of object: a party sees its own things and nothing of anyone else's (no IDOR).

Two of each party (brand A/B, seller A/B, API client A/B) plus the staff roles. Checked twice: on the
``visible_to`` querysets every view is built on, and over HTTP on the object pages (console case, seller
notice, brand reference, API listing, protected media), where an object you may not see is a 404.
"""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.models import Brand, ReferenceImage, ReferenceItem
from anticounterfeit.listings.models import Listing, ListingImage, Seller
from anticounterfeit.moderation import actions as moderation
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from tests.factories import make_brand, make_reference, scanned_listing, token_client

pytestmark = [pytest.mark.services, pytest.mark.django_db]
DENIED = {302, 403, 404}


@pytest.fixture
def world(make_user):
    brands = {"A": make_brand("brand-a", "Alpha"), "B": make_brand("brand-b", "Beta")}
    refs = {k: make_reference(b, f"ref-{k}") for k, b in brands.items()}
    listings = {k: scanned_listing(f"L-{k}", f"S-{k}", score=0.95, brand=brands[k], ref=refs[k]) for k in "AB"}
    staff = {role: make_user(role, role) for role in (Role.MODERATOR, Role.LEAD, Role.ADMIN)}
    for k in "AB":  # each seller has a notice: take the listing down
        moderation.do_take_down(Case.objects.get(listing=listings[k]).pk, acting_user=staff[Role.MODERATOR])
    users = {
        "brand_owner": {k: make_user(f"owner-{k}", Role.BRAND_OWNER, brands=[brands[k]]) for k in "AB"},
        "seller": {k: make_user(f"seller-{k}", Role.SELLER, seller=Seller.objects.get(seller_key=f"S-{k}"))
                   for k in "AB"},
        "api_client": {k: make_user(f"api-{k}", Role.API_CLIENT) for k in "AB"},
    }
    clients = {}
    for k in "AB":
        clients[k] = MarketplaceClient.objects.create(name=f"Market {k}", user=users["api_client"][k])
    # Listings submitted by each marketplace client (the factory's listings are the default tenant's): seller ids
    # are per tenant, so client k's "S-k" is a seller of its own, not the default tenant's "S-k".
    from anticounterfeit.api.intake import accept_validated

    api_listings = {k: accept_validated({"listing_id": f"API-{k}", "seller_id": f"S-{k}", "title": "Mug"},
                                        client=clients[k]) for k in "AB"}
    return {"brands": brands, "refs": refs, "listings": listings, "staff": staff, "users": users,
            "api_listings": api_listings}


def own_objects(world, party: str, k: str) -> dict[str, set[int]]:
    """What party ``k`` of kind ``party`` may see, by object type."""
    listing = world["listings"][k]
    if party == "brand_owner":
        return {"listing": {listing.pk}, "reference": {world["refs"][k].pk}, "brand": {world["brands"][k].pk},
                "case": set(Case.objects.filter(listing=listing).values_list("pk", flat=True)),
                "notification": set(), "seller": set()}
    if party == "seller":
        return {"listing": {listing.pk}, "reference": set(), "brand": set(),
                "case": set(), "seller": {listing.seller_id},
                "notification": set(Notification.objects.filter(seller=listing.seller).values_list("pk", flat=True))}
    return {"listing": {world["api_listings"][k].pk}, "reference": set(), "brand": set(), "case": set(),
            "notification": set(), "seller": {world["api_listings"][k].seller_id}}


QUERYSETS = {"listing": Listing, "reference": ReferenceItem, "brand": Brand, "case": Case,
             "notification": Notification, "seller": Seller}


@pytest.mark.parametrize("party", ["brand_owner", "seller", "api_client"])
@pytest.mark.parametrize("k", ["A", "B"])
def test_parties_see_exactly_their_own_objects(world, party, k):
    user = world["users"][party][k]
    expected = own_objects(world, party, k)
    for kind, model in QUERYSETS.items():
        visible = set(model.objects.visible_to(user).values_list("pk", flat=True))
        assert visible == expected[kind], f"{party} {k} sees {kind}s {visible}, expected {expected[kind]}"


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.LEAD, Role.ADMIN])
def test_staff_see_all_marketplace_objects(world, role):
    user = world["staff"][role]
    for model in (Listing, ReferenceItem, Brand, Case, Seller):
        assert model.objects.visible_to(user).count() == model.objects.count(), model.__name__


def pages(world, k: str) -> dict[str, str]:
    listing = world["listings"][k]
    notice = Notification.objects.filter(seller=listing.seller).first()
    return {
        "case": reverse("moderation:case", args=[Case.objects.get(listing=listing).pk]),
        "notice": reverse("notifications:notice", args=[notice.pk]),
        "reference": reverse("catalog:reference_edit", args=[world["refs"][k].pk]),
        "listing_media": reverse("media", args=[ListingImage.objects.filter(listing=listing).first().image.name]),
        "reference_media": reverse("media", args=[ReferenceImage.objects.filter(reference=world["refs"][k])
                                                  .first().image.name]),
    }


ALLOWED_PAGES = {
    "brand_owner": {"reference", "listing_media", "reference_media"},
    "seller": {"notice", "listing_media"},
    "api_client": set(),
}


@pytest.mark.parametrize("party", ["brand_owner", "seller", "api_client"])
def test_object_pages_own_versus_other_party(world, client, party):
    for k, other in (("A", "B"), ("B", "A")):
        client.force_login(world["users"][party][k])
        for name, url in pages(world, k).items():
            status = client.get(url).status_code
            if name in ALLOWED_PAGES[party]:
                assert status == 200, f"{party} {k} cannot open its own {name}: {status}"
            else:
                assert status in DENIED, f"{party} {k} opened {name} it has no business seeing: {status}"
        for name, url in pages(world, other).items():
            status = client.get(url).status_code
            assert status in DENIED, f"{party} {k} opened {other}'s {name} ({url}): {status}"
        client.logout()


def test_staff_open_every_object_page(world, client):
    client.force_login(world["staff"][Role.MODERATOR])
    for k in "AB":
        for name in ("case", "listing_media", "reference_media"):
            assert client.get(pages(world, k)[name]).status_code == 200, name


def test_api_clients_read_only_their_own_listings(world):
    for k, other in (("A", "B"), ("B", "A")):
        api = token_client(world["users"]["api_client"][k])
        assert api.get(f"/api/v1/listings/API-{k}").status_code == 200
        assert api.get(f"/api/v1/listings/API-{other}").status_code == 404
        assert api.get(f"/api/v1/listings/L-{k}").status_code == 404  # not submitted by this client


@pytest.mark.parametrize("party", ["seller", "api_client", "brand_owner"])
def test_non_staff_cannot_decide_cases(world, client, party):
    case = Case.objects.filter(listing__status=Listing.Status.REMOVED).first()
    client.force_login(world["users"][party]["A"])
    response = client.post(reverse("moderation:decide", args=[case.pk]), {"action": "dismiss",
                                                                       "reason_code": "genuine"})
    assert response.status_code in DENIED
    assert not case.decisions.filter(action="dismiss").exists() if hasattr(case, "decisions") else True


def test_sellers_cannot_submit_through_the_api(world):
    api = APIClient()
    api.force_authenticate(world["users"]["seller"]["A"])
    response = api.post("/api/v1/listings", {"listing_id": "x", "seller_id": "S-B", "title": "Impersonation"},
                        format="json")
    assert response.status_code == 403

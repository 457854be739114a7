"""From a case, the matched reference (or confirmed counterfeit) can be opened with everything else it matched."""
import pytest
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_reference_page_lists_every_listing_that_matched_it(make_user, client):
    acme, zenit = make_brand("acme", "Acme"), make_brand("zenit", "Zenit")
    ref, other_ref = make_reference(acme, "ref-a"), make_reference(zenit, "ref-z")
    scanned_listing("L-1", "S-1", score=0.9, brand=acme, ref=ref)
    scanned_listing("L-2", "S-2", score=0.8, brand=acme, ref=ref)
    scanned_listing("L-3", "S-3", score=0.9, brand=zenit, ref=other_ref)
    client.force_login(make_user("mod", Role.MODERATOR))
    page = client.get(reverse("catalog:match_target", args=["ref-a"])).content.decode()
    assert "L-1" in page and "L-2" in page and "L-3" not in page
    owner = make_user("zenit-owner", Role.BRAND_OWNER, brands=[zenit])
    client.force_login(owner)
    assert client.get(reverse("catalog:match_target", args=["ref-a"])).status_code == 404


def test_confirmed_counterfeit_page_opens_for_moderators(make_user, client):
    acme = make_brand("acme", "Acme")
    ref = make_reference(acme, "ref-a")
    fake = scanned_listing("L-1", "S-1", score=0.9, brand=acme, ref=ref)
    moderator = make_user("mod", Role.MODERATOR)
    actions.do_take_down(Case.objects.get(listing=fake).pk, acting_user=moderator)
    client.force_login(moderator)
    # The shared bank names a counterfeit by an opaque id (no tenant's listing id): staff resolve it.
    response = client.get(reverse("catalog:match_target", args=[f"cf-{fake.pk}"]))
    assert response.status_code == 200 and "Confirmed counterfeit L-1" in response.content.decode()
    assert client.get(reverse("catalog:match_target", args=["L-1"])).status_code == 404
    assert client.get(reverse("catalog:match_target", args=["cf-999999"])).status_code == 404

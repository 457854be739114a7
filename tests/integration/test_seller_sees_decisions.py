"""Sellers see what is decided, not what is suspected: a listing under review reads as active on every page a
seller can open, until a decision; a takedown then shows as removed."""
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from anticounterfeit.accounts.models import Role
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]
SUSPICION = re.compile(r"in[\s_-]*review|under investigation|investigat|suspect|flagged|pending (review|decision)",
                       re.IGNORECASE)


def _plain_paths(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Every URL of the project without parameters (new pages are covered without editing this test)."""
    out = []
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if "<" in route or "(?P" in route or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            out += _plain_paths(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            out.append("/" + prefix + route)
    return out


def _seller_pages(client: Client) -> dict[str, str]:
    pages = {}
    paths = _plain_paths(get_resolver()) + [f"/seller/notices/{pk}/" for pk in Notification.objects.values_list("pk", flat=True)]
    for path in paths:
        response = client.get(path, follow=True)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            pages[path] = response.content.decode()
    return pages


def test_listing_under_review_reads_active_until_decided(make_user):
    brand = make_brand()
    ref = make_reference(brand)
    shoe = scanned_listing("L-shoe", "S-1", score=0.97, brand=brand, ref=ref, title="Acme runner replica")
    fake = scanned_listing("L-fake", "S-1", score=0.95, brand=brand, ref=ref, title="Acme runner AAA")
    assert shoe.status == Listing.Status.IN_REVIEW and Case.objects.open().count() == 2
    actions.do_take_down(Case.objects.get(listing=fake).pk, acting_user=make_user("mod", Role.MODERATOR))
    client = Client()
    client.force_login(make_user("seller", Role.SELLER, seller=shoe.seller))

    pages = _seller_pages(client)
    assert "/seller/" in pages and len(pages) >= 3, sorted(pages)  # the center, a notice, the login page at least
    for path, html in pages.items():
        assert not SUSPICION.search(html), f"{path} tips the seller off: {SUSPICION.search(html).group()!r}"
        assert "0.97" not in html, f"{path} shows the detection score"
    center = pages["/seller/"]
    assert re.search(r'data-testid="status-L-shoe">Active<', center)
    assert re.search(r'data-testid="status-L-fake">Removed<', center)
    api = client.get(f"/api/v1/listings/{shoe.listing_key}")
    assert api.status_code in (401, 403, 404), "the marketplace API is for marketplace clients, not sellers"

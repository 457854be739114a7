"""Queue thumbnails: the listing's first photo and its best-matching reference's photo, served with the media
access rules (staff may fetch both; a seller or another brand's owner gets neither)."""
import re

import pytest

from anticounterfeit.accounts.models import Role
from ml.types import Match
from tests.factories import jpeg_bytes, logged_in, make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_queue_row_shows_the_first_photo_and_the_best_match_behind_access_rules(make_user):
    acme, bolt = make_brand("acme", "Acme"), make_brand("bolt", "Bolt")
    weak, strong = make_reference(acme, "ref-weak"), make_reference(acme, "ref-strong")
    matches = [Match("image", weak.ref_key, acme.brand_key, 0.71, listing_image=1, ref_image=0),
               Match("region", strong.ref_key, acme.brand_key, 0.92, listing_image=1, ref_image=0),
               Match("counterfeit", "L-old", acme.brand_key, 0.99)]  # names a removed listing, not a reference
    listing = scanned_listing("L-1", "S-1", score=0.9, brand=acme, ref=strong, title="Acme runner", matches=matches,
                              images=[jpeg_bytes((10, 200, 10)), jpeg_bytes((200, 10, 10))])
    html = logged_in(make_user("mod", Role.MODERATOR)).get("/console/").content.decode()
    thumbs = re.findall(r'<img src="([^"]+)" alt="([^"]+)"[^>]*loading="lazy"', html)
    first_photo = listing.images.order_by("position").first().image.url
    strong_photo = strong.images.first().image.url
    assert thumbs == [(first_photo, "listing photo"), (strong_photo, "best match ref-strong")]
    assert 'width="56" height="56"' in html

    moderator = logged_in(make_user("mod2", Role.MODERATOR))
    for url, _ in thumbs:
        response = moderator.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("image/")
    outsiders = [make_user("seller-2", Role.SELLER, seller=scanned_listing("L-2", "S-2", score=0.1).seller),
                 make_user("bolt-owner", Role.BRAND_OWNER, brands=[bolt])]
    for user in outsiders:
        client = logged_in(user)
        assert client.get("/console/").status_code in (302, 403)
        for url, _ in thumbs:
            assert client.get(url).status_code == 404, (user.username, url)
    assert logged_in().get(thumbs[0][0]).status_code == 302  # anonymous: to the login page

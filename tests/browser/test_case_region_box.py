"""The case page draws a region box on the matched area of the photo, and none for a match too weak to place.

The photos are generated with a logo-like mark pasted at a known place; the test reads the drawn box's place
from the page and the pixels under it from a screenshot, for a wide and a tall photo (the box is positioned
relative to the displayed image, whatever its aspect).
"""
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from anticounterfeit.accounts.models import Role
from anticounterfeit.moderation.evidence import BOX_MIN_SCORE
from anticounterfeit.moderation.models import Case
from ml.types import Match
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MARK = (230, 0, 200)  # the pasted logo's colour: nothing else in the photo comes near it


def photo_with_mark(size: tuple[int, int], place: tuple[float, float, float, float], seed: int) -> bytes:
    """A grey, noisy photo with a magenta badge filling ``place`` (normalised x0, y0, x1, y1)."""
    w, h = size
    rng = np.random.default_rng(seed)
    image = Image.fromarray((rng.normal(128, 25, (h, w, 3)).clip(0, 255)).astype(np.uint8))
    x0, y0, x1, y1 = (round(v * s) for v, s in zip(place, (w, h, w, h), strict=True))
    draw = ImageDraw.Draw(image)
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=MARK)
    draw.ellipse((x0 + (x1 - x0) // 4, y0 + (y1 - y0) // 4, x1 - (x1 - x0) // 4, y1 - (y1 - y0) // 4), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def mark_share(png: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    near = np.abs(pixels - np.array(MARK)).sum(axis=2) < 90
    return float(near.mean())


def test_region_box_lies_on_the_matched_area(live_server, browser, make_user, shot):
    wide_place, tall_place = (0.62, 0.55, 0.88, 0.85), (0.1, 0.08, 0.5, 0.3)
    brand = make_brand("famsko", "Famsko")
    ref = make_reference(brand, "famsko-logo")
    matches = [
        Match("region", ref.ref_key, brand.brand_key, 0.86, listing_image=0, ref_image=0, box=wide_place),
        Match("region", ref.ref_key, brand.brand_key, 0.81, listing_image=1, ref_image=0, box=tall_place),
        # a middling match: its best window is no real place (it sits on an empty corner here)
        Match("region", "famsko-2", brand.brand_key, BOX_MIN_SCORE - 0.19, listing_image=0, ref_image=0,
              box=(0.0, 0.0, 0.25, 0.25)),
    ]
    explanation = ["logo region matched Famsko reference famsko-logo (0.86)",
                   "description says 'famsko' (brand mention of Famsko)",
                   "description says 'famsko' (brand mention of famsko)"]
    listing = scanned_listing("L-logo", "S-1", score=0.9, brand=brand, ref=ref, title="Famsko tote",
                              description="famsko tote bag", matches=matches, explanation=explanation,
                              images=[photo_with_mark((640, 420), wide_place, 1), photo_with_mark((360, 640), tall_place, 2)])
    make_user("mod", Role.MODERATOR)
    case = Case.objects.get(listing=listing)

    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    login(page, live_server.url, "mod")
    page.goto(f"{live_server.url}/console/cases/{case.pk}/")
    page.wait_for_selector("[data-testid=evidence] img")
    page.wait_for_function("Array.from(document.querySelectorAll('.imgbox img')).every(i => i.complete && i.naturalWidth)")
    shot(page, "case_region_box")
    lines = page.locator("[data-testid=explanation] li").all_inner_texts()
    assert sum("says 'famsko'" in line for line in lines) == 1, lines  # one line per fact

    boxes = page.locator(".imgbox .region")
    assert boxes.count() == 2, "the 0.56 match must draw no box"
    empty_corners = ((0.0, 0.0, 0.25, 0.25), (0.6, 0.6, 0.95, 0.95))
    for n, (place, empty) in enumerate(zip((wide_place, tall_place), empty_corners, strict=True)):
        region = boxes.nth(n)
        img = region.locator("xpath=preceding-sibling::img").bounding_box()
        drawn = region.bounding_box()
        got = ((drawn["x"] - img["x"]) / img["width"], (drawn["y"] - img["y"]) / img["height"],
               (drawn["x"] + drawn["width"] - img["x"]) / img["width"], (drawn["y"] + drawn["height"] - img["y"]) / img["height"])
        assert np.allclose(got, place, atol=0.03), (n, got, place)
        inset = 6  # inside the 3 px border
        inside = page.screenshot(clip={"x": drawn["x"] + inset, "y": drawn["y"] + inset,
                                       "width": drawn["width"] - 2 * inset, "height": drawn["height"] - 2 * inset})
        assert mark_share(inside) > 0.4, f"box {n} is not on the logo"
        ex0, ey0, ex1, ey1 = empty
        beside = page.screenshot(clip={"x": img["x"] + ex0 * img["width"], "y": img["y"] + ey0 * img["height"],
                                       "width": (ex1 - ex0) * img["width"], "height": (ey1 - ey0) * img["height"]})
        assert mark_share(beside) < 0.02  # and the photo's empty corner holds none of it
    page.close()

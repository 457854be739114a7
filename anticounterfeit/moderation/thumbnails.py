"""Queue thumbnails: each case's first listing photo and the photo of the reference it matched best.

Moderators judge fakes by eye, so the queue shows both side by side. The page costs a fixed number of
queries whatever its length: three for all its rows (the detections' matches, the listings' first images,
the matched references' images), never one per row.
"""
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from anticounterfeit.catalog.models import ReferenceImage
from anticounterfeit.listings.models import ListingImage

from .models import Case

# Matches whose ref_id names a catalog reference (a "counterfeit" match names a removed listing instead).
REFERENCE_KINDS = frozenset({"image", "region", "pdq", "text"})


@dataclass(frozen=True)
class Thumbnails:
    listing_image: ListingImage | None
    reference_image: ReferenceImage | None
    ref_key: str = ""
    ref_title: str = ""


def best_reference(matches: list[dict]) -> tuple[str, int] | None:
    """(ref_id, index of its image) of the strongest match with a catalog reference, or None."""
    candidates = [m for m in matches or [] if m.get("kind") in REFERENCE_KINDS and m.get("ref_id")]
    if not candidates:
        return None
    best = max(candidates, key=lambda m: m.get("score", 0.0))
    return best["ref_id"], best.get("ref_image") or 0


def attach_thumbnails(cases) -> None:
    """Set ``case.thumbs`` (a ``Thumbnails``) on each case of a queue page."""
    cases = list(cases)
    detection_model = Case._meta.get_field("detection").related_model
    matches = dict(detection_model.objects.filter(pk__in={c.detection_id for c in cases if c.detection_id})
                   .values_list("pk", "matches"))
    best = {c.pk: best_reference(matches.get(c.detection_id, [])) for c in cases}
    # The first image of each listing, in one query on every database (DISTINCT ON is PostgreSQL only, and the
    # embedded mode runs on SQLite).
    first_of_listing = ListingImage.objects.filter(listing_id=OuterRef("listing_id")).order_by("position", "pk")
    first_images = {image.listing_id: image for image in ListingImage.objects.filter(
        listing_id__in={c.listing_id for c in cases}, pk=Subquery(first_of_listing.values("pk")[:1]))
        .only("listing_id", "position", "image")}
    ref_images: dict[str, list[ReferenceImage]] = {}
    for image in ReferenceImage.objects.filter(reference__ref_key__in={b[0] for b in best.values() if b}).select_related(
            "reference").only("image", "position", "reference__ref_key", "reference__title").order_by(
            "reference_id", "position", "pk"):
        ref_images.setdefault(image.reference.ref_key, []).append(image)
    for case in cases:
        ref_key, index = best[case.pk] or ("", 0)
        images = ref_images.get(ref_key, [])
        image = images[index] if index < len(images) else (images[0] if images else None)
        case.thumbs = Thumbnails(first_images.get(case.listing_id), image, ref_key,
                                 image.reference.title if image else "")

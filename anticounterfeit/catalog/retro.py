"""Which listings retroactive matching rescans after a catalog change: the active ones, in pk order."""
from anticounterfeit.listings.models import Listing

ACTIVE = ("clear", "in_review")


def active_listing_count() -> int:
    return Listing.objects.filter(status__in=ACTIVE).count()


def active_listing_ids(after_pk: int, limit: int) -> list[int]:
    return list(Listing.objects.filter(status__in=ACTIVE, pk__gt=after_pk).order_by("pk")
                .values_list("pk", flat=True)[:limit])

"""What a seller is told about a listing: decisions, never suspicions.

A seller who sees "in review" can delist and relist under a new storefront before anyone decides, so every
state short of a decision reads as active (as on the big marketplaces, which do not reveal pending
investigations). A dismissal is not announced either: the listing simply stayed active.
"""
from anticounterfeit.listings.models import Listing

ACTIVE, REMOVED, REINSTATED = "Active", "Removed", "Reinstated"
_SHOWN = {Listing.Status.REMOVED: REMOVED, Listing.Status.REINSTATED: REINSTATED}


def seller_status(status: str) -> str:
    """The status a seller reads for a listing with the internal ``status``."""
    return _SHOWN.get(status, ACTIVE)

"""Brand portal: a brand owner sees only the listings matched to its own brands."""
from django.core.paginator import Paginator
from django.shortcuts import render

from anticounterfeit.accounts.models import Role
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.listings.models import Listing

from .models import Brand, ReferenceItem


@role_required(Role.BRAND_OWNER, Role.ADMIN)
def portal(request):
    brands = Brand.objects.visible_to(request.user)
    listings = (Listing.objects.visible_to(request.user).filter(matched_brand__in=brands)
                .exclude(status=Listing.Status.PENDING).select_related("matched_brand").order_by("-score"))
    page = Paginator(listings, 30).get_page(request.GET.get("page"))
    return render(request, "catalog/portal.html", {
        "brands": brands, "page": page,
        "reference_count": ReferenceItem.objects.visible_to(request.user).count(),
        "removed": listings.filter(status=Listing.Status.REMOVED).count(),
        "in_review": listings.filter(status=Listing.Status.IN_REVIEW).count(),
    })

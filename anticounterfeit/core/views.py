"""Home routing by role, health check, and media that only the parties allowed to see it can fetch."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.static import serve

from anticounterfeit.accounts.models import Role, is_staff_role, role_of
from anticounterfeit.catalog.models import ReferenceImage, ReferenceItem
from anticounterfeit.detection.detector_cache import bank_status
from anticounterfeit.listings.models import Listing, ListingImage
from anticounterfeit.moderation.models import Appeal
from ml.ocr import ocr_status


@login_required
def home(request):
    role = role_of(request.user)
    if role in (Role.MODERATOR, Role.LEAD, Role.ADMIN):
        return redirect("moderation:queue")
    if role == Role.BRAND_OWNER:
        return redirect("catalog:portal")
    if role == Role.SELLER:
        return redirect("notifications:center")
    if role == Role.API_CLIENT:
        return redirect("webhooks:clients")
    raise Http404("No page for this account.")


@login_required
def protected_media(request, path: str):

    allowed = is_staff_role(request.user)
    if not allowed and path.startswith("appeals/"):  # the appealing seller's own evidence (staff see all)
        allowed = Appeal.objects.visible_to(request.user).filter(evidence=path).exists()
    if not allowed and path.startswith("listings/"):
        allowed = ListingImage.objects.filter(image=path, listing__in=Listing.objects.visible_to(request.user)).exists()
    if not allowed and path.startswith("references/"):
        allowed = ReferenceImage.objects.filter(image=path,
                                                reference__in=ReferenceItem.objects.visible_to(request.user)).exists()
    if not allowed:
        raise Http404("Not found")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def health(request):
    """Liveness plus what the detector can use right now (OCR engine present, bank built with the current models).

    A stale bank is degraded, not down (scans continue on it while the rebuild runs), so it does not turn 503.
    """

    checks = {"database": "ok", "ocr_engine": ocr_status()}
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {exc}"
    else:
        try:
            checks["bank"] = bank_status()
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["bank"] = f"error: {exc}"
    checks["mode"] = "embedded" if settings.EMBEDDED_MODE else "services"
    return JsonResponse(checks, status=200 if checks["database"] == "ok" else 503)

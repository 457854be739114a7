"""Seller center: notices, the current trust rating with its explanation, and appeals. Brand owners get an inbox."""
import os

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from anticounterfeit.accounts.models import LEAD_ROLES, Role, is_lead, seller_of
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.compliance.models import StatementOfReasons
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions as moderation_actions
from anticounterfeit.moderation.models import Appeal
from anticounterfeit.trust.actions import rating_for
from anticounterfeit.trust.models import RestrictionReview, TrustEvent

from .actions import mark_read
from .forms import AppealForm
from .models import Notification
from .seller_status import seller_status

seller_required = role_required(Role.SELLER)
recipient_required = role_required(Role.SELLER, Role.BRAND_OWNER, *LEAD_ROLES)
inbox_required = role_required(Role.BRAND_OWNER, *LEAD_ROLES)


def _inbox(request) -> dict:
    notices = Notification.objects.visible_to(request.user)
    return {"notices": notices[:50], "unread": notices.filter(read_at__isnull=True).count()}


@seller_required
def center(request):
    seller = seller_of(request.user)
    review = RestrictionReview.objects.visible_to(request.user).filter(
        state__in=[RestrictionReview.State.OPEN, RestrictionReview.State.RESTRICTED]).first()
    listings = list(Listing.objects.visible_to(request.user).order_by("-created_at")[:50])
    return render(request, "notifications/center.html", {
        **_inbox(request), "seller": seller, "review": review,
        "rating": rating_for(seller) if seller else None,
        "events": TrustEvent.objects.filter(seller=seller).exclude(kind__in=["reinstated", "link_removed"]).annotate(
            reversed=Exists(TrustEvent.objects.filter(reverses=OuterRef("pk")))).order_by("-occurred_at", "-id")[:10],
        "listings": [(listing, seller_status(listing.status)) for listing in listings],
        "statements": StatementOfReasons.objects.visible_to(request.user).select_related("listing")
        .prefetch_related("decision__notification_set")[:50],
    })


@inbox_required
def inbox(request):
    """Brand owners: their reports' outcomes. Leads and admins: restriction reviews to decide."""
    return render(request, "notifications/inbox.html", {**_inbox(request), "is_lead": is_lead(request.user)})


@recipient_required
def notice(request, pk: int):
    note = get_object_or_404(Notification.objects.visible_to(request.user).select_related("decision", "listing"), pk=pk)
    mark_read(note)
    seller = seller_of(request.user)
    appeal = note.decision.appeals.order_by("-created_at").first() if note.decision_id else None
    form = AppealForm()
    window_open = note.appeal_deadline is not None and note.appeal_deadline > timezone.now()
    can_appeal = (seller is not None and note.kind == Notification.Kind.TAKEDOWN and note.decision_id is not None
                  and appeal is None and window_open)
    if request.method == "POST" and can_appeal:
        form = AppealForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                moderation_actions.file_appeal(note.decision, seller=seller, statement=form.cleaned_data["statement"],
                                               evidence=form.cleaned_data.get("evidence"), acting_user=request.user)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Your appeal was filed. A lead moderator will review it.")
                return redirect("notifications:notice", pk=note.pk)
    return render(request, "notifications/notice.html", {
        "note": note, "form": form,
        "statement": StatementOfReasons.objects.filter(decision_id=note.decision_id).first()
        if note.kind == Notification.Kind.TAKEDOWN and note.decision_id else None, "can_appeal": can_appeal, "appeal": appeal, "appeal_statuses": Appeal.Status,
        "window_closed": note.kind == Notification.Kind.TAKEDOWN and appeal is None and not window_open,
        "evidence_name": os.path.basename(appeal.evidence.name) if appeal and appeal.evidence else "",
        "back": "notifications:center" if seller is not None else "notifications:inbox",
    })

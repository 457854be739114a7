"""Seller center: notices, the current trust rating with its explanation, and appeals."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from anticounterfeit.accounts.models import Role, seller_of
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions as moderation_actions
from anticounterfeit.moderation.models import Appeal
from anticounterfeit.trust.actions import rating_for

from .actions import mark_read
from .forms import AppealForm
from .models import Notification

seller_required = role_required(Role.SELLER)


@seller_required
def center(request):
    seller = seller_of(request.user)
    notices = Notification.objects.visible_to(request.user)
    return render(request, "notifications/center.html", {
        "seller": seller, "notices": notices[:50], "unread": notices.filter(read_at__isnull=True).count(),
        "rating": rating_for(seller) if seller else None,
        "listings": Listing.objects.visible_to(request.user).order_by("-created_at")[:50],
    })


@seller_required
def notice(request, pk: int):
    note = get_object_or_404(Notification.objects.visible_to(request.user).select_related("decision", "listing"), pk=pk)
    mark_read(note)
    seller = seller_of(request.user)
    appeal = note.decision.appeals.first() if note.decision_id else None
    form = AppealForm()
    can_appeal = note.kind == Notification.Kind.TAKEDOWN and appeal is None and note.decision_id is not None
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
        "note": note, "form": form, "can_appeal": can_appeal, "appeal": appeal,
        "appeal_statuses": Appeal.Status,
    })

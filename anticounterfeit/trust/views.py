"""Leads' restriction reviews (repeat-infringer policy): restrict, decline, lift. Views parse and call actions."""
from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from anticounterfeit.accounts.models import LEAD_ROLES, STAFF_ROLES
from anticounterfeit.accounts.permissions import role_required

from . import actions
from .forms import RestrictionDecisionForm
from .models import RestrictionReview, SellerLink

lead_required = role_required(*LEAD_ROLES)
DONE = {"restrict": "restricted", "decline": "not restricted, review closed", "lift": "restriction lifted"}


@lead_required
def reviews(request):
    qs = RestrictionReview.objects.visible_to(request.user).select_related("seller", "decided_by")
    return render(request, "trust/reviews.html", {
        "open": qs.filter(state=RestrictionReview.State.OPEN),
        "restricted": qs.filter(state=RestrictionReview.State.RESTRICTED),
        "closed": qs.filter(state__in=[RestrictionReview.State.DECLINED, RestrictionReview.State.LIFTED])[:30],
    })


@lead_required
def decide(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    review = get_object_or_404(RestrictionReview.objects.visible_to(request.user), pk=pk)
    form = RestrictionDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose restrict, decline or lift.")
        return redirect("trust:reviews")
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    try:
        if decision == "lift":
            actions.lift_restriction(review.pk, acting_user=request.user, note=note)
        else:
            actions.decide_restriction(review.pk, acting_user=request.user, restrict=decision == "restrict", note=note)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{review.seller.seller_key}: {DONE[decision]}. The seller was notified.")
    return redirect("trust:reviews")


@role_required(*STAFF_ROLES)
def decide_link(request, pk: int):
    """A moderator confirms a shared-image link (it then counts in the seller's rating) or dismisses it."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    link = get_object_or_404(SellerLink, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("confirm", "dismiss"):
        messages.error(request, "Choose confirm or dismiss.")
    else:
        try:
            actions.decide_seller_link(link.pk, acting_user=request.user, confirm=decision == "confirm")
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Link of {link.seller.seller_key}: {decision}ed.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "home")

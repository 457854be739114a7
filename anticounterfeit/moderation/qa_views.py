"""Console pages for reviewer QA: a moderator's blind reviews, the leads' disagreements, the per-moderator figures."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from anticounterfeit.accounts.models import LEAD_ROLES, STAFF_ROLES, is_lead
from anticounterfeit.accounts.permissions import role_required

from . import evidence, qa
from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Case, QAReview

staff_required = role_required(*STAFF_ROLES)
lead_required = role_required(*LEAD_ROLES)


@staff_required
def qa_queue(request):
    return render(request, "moderation/qa_queue.html", {
        "pending": QAReview.objects.for_reviewer(request.user).select_related("case__listing"),
        "figures": qa.figures_visible_to(request.user), "is_lead": is_lead(request.user),
        "disagreements": QAReview.objects.filter(outcome=QAReview.Outcome.DISAGREE, resolution="").count()
        if is_lead(request.user) else 0,
    })


@staff_required
def qa_review(request, pk: int):
    """The case's evidence and an answer form; the decision it is compared with is not shown (blind)."""
    review = get_object_or_404(QAReview.objects.select_related("case__listing__matched_brand", "case__detection"),
                               pk=pk, reviewer=request.user)
    if request.method == "POST" and review.answered_at is None:
        try:
            qa.answer_review(review.pk, acting_user=request.user, action=request.POST.get("action", ""),
                             reason_code=request.POST.get("reason_code", ""), note=request.POST.get("note", ""))
        except (ValueError, PermissionError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Answer recorded. Thank you.")
            return redirect("moderation:qa")
    case, listing = review.case, review.case.listing
    rows = evidence.match_rows(case)
    brands = evidence.brand_infos(evidence.brands_for(listing, rows))
    return render(request, "moderation/qa_review.html", {
        "review": review, "case": case, "listing": listing, "rows": rows,
        "title_html": evidence.highlight(listing.title, brands),
        "description_html": evidence.highlight(listing.description, brands),
        "ocr": evidence.ocr_texts(case.detection, listing, brands),
        "signals": evidence.signal_lines(case.detection.signals) if case.detection else [],
        "takedown_reasons": [(r.value, r.label) for r in TAKEDOWN_REASONS],
        "dismiss_reasons": [(r.value, r.label) for r in DISMISS_REASONS],
    })


@lead_required
def qa_disagreements(request):
    if request.method == "POST":
        try:
            qa.resolve_disagreement(int(request.POST.get("review", 0)), acting_user=request.user,
                                    resolution=request.POST.get("resolution", ""))
        except (ValueError, PermissionError, QAReview.DoesNotExist) as exc:
            messages.error(request, str(exc))
        return redirect("moderation:qa_disagreements")
    return render(request, "moderation/qa_disagreements.html", {
        "reviews": QAReview.objects.filter(outcome=QAReview.Outcome.DISAGREE).select_related(
            "case__listing", "reference__moderator", "reviewer").order_by("resolution", "-answered_at")[:100]})


@lead_required
@require_POST
def mark_golden(request, pk: int):
    case = get_object_or_404(Case, pk=pk)
    try:
        qa.mark_golden(case, acting_user=request.user)
    except (ValueError, PermissionError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Case #{case.pk} is a golden case; moderators get it as a blind review.")
    return redirect("moderation:case", pk=pk)
